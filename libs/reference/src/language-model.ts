import { Checkpoint, LlmNames, lmHeadName, llmNames } from '@ivl/checkpoint';
import { WeightCache } from './weight-cache';
import { linear, rmsNorm, silu, softmaxInPlace } from './math';

/** Per-layer key/value history of one sequence, rotary already applied to keys. */
export class ReferenceKvCache {
  readonly keys: number[][][] = [];
  readonly values: number[][][] = [];
  length = 0;
}

/**
 * Qwen2 decoder exactly as reference §4.6: RMSNorm, biased q/k/v, GQA with NeoX-style rotary whose angle is an
 * fp32 product of fp32 position and fp32 inverse frequency, causal softmax attention, SiLU-gated MLP. InternLM2
 * (family doc §3) is the same computation read from its own tensors: q/k/v rows taken out of the grouped `wqkv`
 * by their published index formula, no biases, `output` as the head.
 */
export class ReferenceLanguageModel {
  private readonly weights: WeightCache;
  private readonly invFreq: Float32Array;
  private readonly names: LlmNames;

  constructor(private readonly ckpt: Checkpoint) {
    this.weights = new WeightCache(ckpt);
    const l = ckpt.config.llm;
    this.invFreq = ropeInverseFrequencies(l.headDim, l.ropeTheta);
    this.names = llmNames(l.kind);
  }

  private get(name: string): Float32Array {
    return this.weights.get(name);
  }

  embed(ids: number[]): Float32Array {
    const H = this.ckpt.config.llm.hiddenSize;
    const table = this.get(this.names.embed);
    const out = new Float32Array(ids.length * H);
    ids.forEach((id, r) => out.set(table.subarray(id * H, (id + 1) * H), r * H));
    return out;
  }

  /** Runs layers [from, to) on `rows` new tokens that follow `cache.length` earlier ones; returns new hidden. */
  layers(h: Float32Array, rows: number, from: number, to: number, cache: ReferenceKvCache): Float32Array {
    const start = cache.length;
    let x: Float32Array = h.slice();
    for (let l = from; l < to; l++) x = this.layer(x, rows, l, start, cache);
    return x;
  }

  /** Advances the cache length once all layers of a step have run. */
  commit(cache: ReferenceKvCache, rows: number): void {
    cache.length += rows;
  }

  private layer(h: Float32Array, S: number, l: number, start: number, cache: ReferenceKvCache): Float32Array {
    const c = this.ckpt.config.llm;
    const H = c.hiddenSize;
    const D = c.headDim;
    const Hq = c.numHeads;
    const Hkv = c.numKvHeads;
    const n = this.names.layer(l);
    const x = rmsNorm(h, S, H, this.get(n.inNorm), c.rmsNormEps);
    const [q, k, v] = n.wqkv ? this.groupedQkv(x, S, n.wqkv) : [
      linear(x, S, H, this.get(`${n.q}.weight`), Hq * D, this.get(`${n.q}.bias`)),
      linear(x, S, H, this.get(`${n.k}.weight`), Hkv * D, this.get(`${n.k}.bias`)),
      linear(x, S, H, this.get(`${n.v}.weight`), Hkv * D, this.get(`${n.v}.bias`)),
    ];
    for (let s = 0; s < S; s++) {
      rotate(q, s * Hq * D, Hq, D, start + s, this.invFreq);
      rotate(k, s * Hkv * D, Hkv, D, start + s, this.invFreq);
    }
    if (!cache.keys[l]) {
      cache.keys[l] = [];
      cache.values[l] = [];
    }
    const K = cache.keys[l];
    const V = cache.values[l];
    K.length = start;
    V.length = start;
    for (let s = 0; s < S; s++) {
      K.push(Array.from(k.subarray(s * Hkv * D, (s + 1) * Hkv * D)));
      V.push(Array.from(v.subarray(s * Hkv * D, (s + 1) * Hkv * D)));
    }
    const attn = new Float32Array(S * Hq * D);
    const group = Hq / Hkv;
    const scale = 1 / Math.sqrt(D);
    const scores = new Float64Array(start + S);
    for (let s = 0; s < S; s++) {
      const n = start + s + 1;
      for (let hq = 0; hq < Hq; hq++) {
        const g = Math.floor(hq / group);
        const qo = s * Hq * D + hq * D;
        for (let t = 0; t < n; t++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * K[t][g * D + d];
          scores[t] = dot * scale;
        }
        softmaxInPlace(scores, n);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let t = 0; t < n; t++) acc += scores[t] * V[t][g * D + d];
          attn[qo + d] = acc;
        }
      }
    }
    const o = linear(attn, S, Hq * D, this.get(n.o), H);
    const h2 = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) h2[i] = h[i] + o[i];
    const x2 = rmsNorm(h2, S, H, this.get(n.postNorm), c.rmsNormEps);
    const gate = linear(x2, S, H, this.get(n.gate), c.intermediateSize);
    const up = linear(x2, S, H, this.get(n.up), c.intermediateSize);
    for (let i = 0; i < gate.length; i++) gate[i] = silu(gate[i]) * up[i];
    const down = linear(gate, S, c.intermediateSize, this.get(n.down), H);
    for (let i = 0; i < h2.length; i++) h2[i] += down[i];
    return h2;
  }

  /**
   * q, k, v of InternLM2 straight from `wqkv`: query head i = g·G + j uses row (g·(G+2) + j)·D + d, key head g
   * uses j = G, value head g uses j = G + 1 (family doc §3).
   */
  private groupedQkv(x: Float32Array, S: number, name: string): [Float32Array, Float32Array, Float32Array] {
    const c = this.ckpt.config.llm;
    const H = c.hiddenSize;
    const D = c.headDim;
    const G = c.numHeads / c.numKvHeads;
    const W = this.get(name);
    const all = linear(x, S, H, W, (c.numHeads + 2 * c.numKvHeads) * D);
    const width = (c.numHeads + 2 * c.numKvHeads) * D;
    const q = new Float32Array(S * c.numHeads * D);
    const k = new Float32Array(S * c.numKvHeads * D);
    const v = new Float32Array(S * c.numKvHeads * D);
    for (let s = 0; s < S; s++) {
      for (let i = 0; i < c.numHeads; i++) {
        const g = Math.floor(i / G);
        const j = i % G;
        for (let d = 0; d < D; d++) q[(s * c.numHeads + i) * D + d] = all[s * width + (g * (G + 2) + j) * D + d];
      }
      for (let g = 0; g < c.numKvHeads; g++) {
        for (let d = 0; d < D; d++) {
          k[(s * c.numKvHeads + g) * D + d] = all[s * width + (g * (G + 2) + G) * D + d];
          v[(s * c.numKvHeads + g) * D + d] = all[s * width + (g * (G + 2) + G + 1) * D + d];
        }
      }
    }
    return [q, k, v];
  }

  /** Final RMSNorm and lm_head for the given rows of hidden state: [rows, vocab]. */
  head(h: Float32Array, rows: number): Float32Array {
    const c = this.ckpt.config.llm;
    const x = rmsNorm(h, rows, c.hiddenSize, this.get(this.names.finalNorm), c.rmsNormEps);
    return linear(x, rows, c.hiddenSize, this.get(lmHeadName(this.ckpt.config)), c.vocabSize);
  }
}

/** inv_freq[i] = 1 / θ^(2i/D), computed in fp32 as the reference does. */
export function ropeInverseFrequencies(D: number, theta: number): Float32Array {
  const f = new Float32Array(D / 2);
  for (let i = 0; i < D / 2; i++) f[i] = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / D))));
  return f;
}

function rotate(x: Float32Array, off: number, heads: number, D: number, pos: number, invFreq: Float32Array): void {
  const half = D / 2;
  for (let h = 0; h < heads; h++) {
    const o = off + h * D;
    for (let i = 0; i < half; i++) {
      const ang = Math.fround(pos * invFreq[i]);
      const cos = Math.fround(Math.cos(ang));
      const sin = Math.fround(Math.sin(ang));
      const a = x[o + i];
      const b = x[o + i + half];
      x[o + i] = a * cos - b * sin;
      x[o + i + half] = b * cos + a * sin;
    }
  }
}
