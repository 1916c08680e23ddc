import { Rng } from '@ivl/tensor';
import { SamplingParams } from './sampling-params';

/**
 * Picks the next token from logits with Hugging Face's processing order: repetition penalty, temperature,
 * top-k, top-p, then a draw from the renormalised distribution. `draw` takes scores already processed by
 * processLogits (bias, penalties, constraint mask) and applies temperature, min-p, top-k and top-p. One uniform number is consumed per sampled
 * token, so a replay can fast-forward the generator exactly.
 */
export class Sampler {
  private readonly rng: Rng;

  constructor(private readonly p: SamplingParams, seed: number) {
    this.rng = new Rng(seed);
  }

  get greedy(): boolean {
    return this.p.temperature === 0;
  }

  /** Consumes the random draws of `n` tokens already produced (replay after a retry). */
  skip(n: number): void {
    if (!this.greedy) for (let i = 0; i < n; i++) this.rng.next();
  }

  sample(logits: Float32Array, seen: Iterable<number>): number {
    return this.draw(this.p.repetitionPenalty !== 1 ? penalise(logits, seen, this.p.repetitionPenalty) : logits);
  }

  /** Draws from scores that have had every logits processor applied already. */
  draw(scores: Float32Array): number {
    if (this.greedy) return argmax(scores);
    const { ids, weights, total } = candidates(scores, this.p.temperature, this.p.topK, this.p.topP, this.p.minP ?? 0);
    // The draw walks the kept tokens in any fixed order: the distribution, not the order, is what matters.
    let u = this.rng.next() * total;
    if (!ids) {
      for (let i = 0; i < weights.length; i++) {
        u -= weights[i];
        if (u < 0) return i;
      }
      return weights.length - 1;
    }
    for (let i = 0; i < ids.length; i++) {
      u -= weights[ids[i]];
      if (u < 0) return ids[i];
    }
    return ids[ids.length - 1];
  }
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

function penalise(logits: Float32Array, seen: Iterable<number>, penalty: number): Float32Array {
  const out = logits.slice();
  for (const id of new Set(seen)) {
    const s = out[id];
    out[id] = s < 0 ? s * penalty : s / penalty;
  }
  return out;
}

/**
 * The tokens that survive top-k and top-p, with their unnormalised weights exp((s - max) / T). Nothing is sorted
 * over the whole vocabulary: top-k is a selection, and the top-p nucleus is found by logarithmic weight bands —
 * bands wholly inside the nucleus are taken as they are, and only the band where the mass crosses p is sorted.
 */
function candidates(scores: Float32Array, temperature: number, topK: number, topP: number, minP: number): { ids?: Int32Array; weights: Float64Array; total: number } {
  const V = scores.length;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (scores[i] > max) max = scores[i];
  const w = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) {
    w[i] = Math.exp((scores[i] - max) / temperature);
    // min-p: the top token has weight 1, so a weight is its probability relative to the top token's.
    if (w[i] < minP) w[i] = 0;
    z += w[i];
  }
  let ids: Int32Array | undefined;
  if (topK > 0 && topK < V) {
    ids = topKIndices(w, topK);
    z = 0;
    for (const i of ids) z += w[i];
  }
  if (topP < 1) ids = nucleus(w, ids ?? allIndices(V), z, topP);
  if (!ids) return { weights: w, total: z };
  let total = 0;
  for (const i of ids) total += w[i];
  return { ids, weights: w, total };
}

function allIndices(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/**
 * Top-p over `ids` (mass z): the smallest set of most likely tokens whose mass reaches p·z, keeping the token that
 * crosses it, as Hugging Face's TopPLogitsWarper does.
 */
function nucleus(w: Float64Array, ids: Int32Array, z: number, topP: number): Int32Array {
  // 16 bands per halving of the weight: the band where the mass crosses p stays small enough to sort cheaply.
  const PER_OCTAVE = 16;
  const BANDS = 64 * PER_OCTAVE;
  let wmax = 0;
  for (const i of ids) if (w[i] > wmax) wmax = w[i];
  const bands = new Uint16Array(ids.length);
  const mass = new Float64Array(BANDS);
  for (let k = 0; k < ids.length; k++) {
    const x = w[ids[k]];
    const b = x > 0 ? Math.min(BANDS - 1, Math.floor(PER_OCTAVE * Math.log2(wmax / x))) : BANDS - 1;
    bands[k] = b;
    mass[b] += x;
  }
  const target = topP * z;
  let acc = 0;
  let crossing = BANDS - 1;
  for (let b = 0; b < BANDS; b++) {
    if (acc + mass[b] >= target) {
      crossing = b;
      break;
    }
    acc += mass[b];
  }
  const out = new Int32Array(ids.length);
  let n = 0;
  const edge: number[] = [];
  for (let k = 0; k < ids.length; k++) {
    if (bands[k] < crossing) out[n++] = ids[k];
    else if (bands[k] === crossing) edge.push(ids[k]);
  }
  edge.sort((a, b) => w[b] - w[a] || a - b);
  for (const i of edge) {
    out[n++] = i;
    acc += w[i];
    if (acc >= target) break;
  }
  return out.subarray(0, n);
}

/** Indices of the k largest weights (any order), ties broken toward lower indices, by selection in O(V). */
function topKIndices(w: Float64Array, k: number): Int32Array {
  const kth = quickselectDescending(Float64Array.from(w), k - 1);
  const ids: number[] = [];
  for (let i = 0; i < w.length; i++) if (w[i] > kth) ids.push(i);
  for (let i = 0; i < w.length && ids.length < k; i++) if (w[i] === kth) ids.push(i);
  return Int32Array.from(ids);
}

function quickselectDescending(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}
