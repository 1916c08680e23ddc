import { Rng } from '@ivl/tensor';
import { SamplingParams } from './sampling-params';

/**
 * Picks the next token from logits with Hugging Face's processing order: repetition penalty, temperature,
 * top-k, top-p, then a draw from the renormalised distribution. One uniform number is consumed per sampled
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
    const scores = this.p.repetitionPenalty !== 1 ? penalise(logits, seen, this.p.repetitionPenalty) : logits;
    if (this.greedy) return argmax(scores);
    const cand = candidates(scores, this.p.temperature, this.p.topK, this.p.topP);
    let u = this.rng.next();
    for (let i = 0; i < cand.ids.length; i++) {
      u -= cand.probs[i];
      if (u < 0) return cand.ids[i];
    }
    return cand.ids[cand.ids.length - 1];
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
 * The surviving tokens in descending probability with renormalised probabilities. Only tokens that can matter
 * are sorted: the top-k, or the smallest prefix that reaches the nucleus mass (found on a pre-selected head
 * first, falling back to the whole vocabulary).
 */
function candidates(scores: Float32Array, temperature: number, topK: number, topP: number): { ids: number[]; probs: number[] } {
  const V = scores.length;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (scores[i] > max) max = scores[i];
  const w = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) {
    w[i] = Math.exp((scores[i] - max) / temperature);
    z += w[i];
  }
  const limit = topK > 0 ? Math.min(topK, V) : V;
  let ids = headIndices(w, Math.min(limit, 2048));
  let kept = ids.reduce((a, i) => a + w[i], 0);
  const needAll = topK === 0 || topK > ids.length;
  if (needAll && kept / z < topP && ids.length < limit) ids = headIndices(w, limit);
  ids = ids.slice(0, limit);
  // Top-p keeps the smallest prefix whose mass reaches p (at least one token), measured after top-k.
  kept = ids.reduce((a, i) => a + w[i], 0);
  if (topP < 1) {
    let acc = 0;
    let n = 0;
    while (n < ids.length) {
      acc += w[ids[n]];
      n++;
      if (acc / kept >= topP) break;
    }
    ids = ids.slice(0, n);
  }
  const total = ids.reduce((a, i) => a + w[i], 0);
  return { ids, probs: ids.map((i) => w[i] / total) };
}

/** Indices of the `k` largest weights in descending order (ties by lower index, as a stable sort would). */
function headIndices(w: Float64Array, k: number): number[] {
  if (k >= w.length) return Array.from(w.keys()).sort((a, b) => w[b] - w[a] || a - b);
  // Threshold by sampling a quantile, then sort only the survivors.
  const sorted = Float64Array.from(w).sort();
  const threshold = sorted[w.length - k];
  const ids: number[] = [];
  for (let i = 0; i < w.length; i++) if (w[i] >= threshold) ids.push(i);
  ids.sort((a, b) => w[b] - w[a] || a - b);
  return ids.slice(0, k);
}
