import { Checkpoint, lmHeadName } from '@ivl/checkpoint';
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
 * fp32 product of fp32 position and fp32 inverse frequency, causal softmax attention, SiLU-gated MLP.
 */
export class ReferenceLanguageModel {
  private readonly weights: WeightCache;
  private readonly invFreq: Float32Array;

  constructor(private readonly ckpt: Checkpoint) {
    this.weights = new WeightCache(ckpt);
    const l = ckpt.config.llm;
    this.invFreq = ropeInverseFrequencies(l.headDim, l.ropeTheta);
  }

  private get(name: string): Float32Array {
    return this.weights.get(name);
  }

  embed(ids: number[]): Float32Array {
    const H = this.ckpt.config.llm.hiddenSize;
    const table = this.get('language_model.model.embed_tokens.weight');
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
    const p = `language_model.model.layers.${l}.`;
    const x = rmsNorm(h, S, H, this.get(p + 'input_layernorm.weight'), c.rmsNormEps);
    const q = linear(x, S, H, this.get(p + 'self_attn.q_proj.weight'), Hq * D, this.get(p + 'self_attn.q_proj.bias'));
    const k = linear(x, S, H, this.get(p + 'self_attn.k_proj.weight'), Hkv * D, this.get(p + 'self_attn.k_proj.bias'));
    const v = linear(x, S, H, this.get(p + 'self_attn.v_proj.weight'), Hkv * D, this.get(p + 'self_attn.v_proj.bias'));
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
    const o = linear(attn, S, Hq * D, this.get(p + 'self_attn.o_proj.weight'), H);
    const h2 = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) h2[i] = h[i] + o[i];
    const x2 = rmsNorm(h2, S, H, this.get(p + 'post_attention_layernorm.weight'), c.rmsNormEps);
    const gate = linear(x2, S, H, this.get(p + 'mlp.gate_proj.weight'), c.intermediateSize);
    const up = linear(x2, S, H, this.get(p + 'mlp.up_proj.weight'), c.intermediateSize);
    for (let i = 0; i < gate.length; i++) gate[i] = silu(gate[i]) * up[i];
    const down = linear(gate, S, c.intermediateSize, this.get(p + 'mlp.down_proj.weight'), H);
    for (let i = 0; i < h2.length; i++) h2[i] += down[i];
    return h2;
  }

  /** Final RMSNorm and lm_head for the given rows of hidden state: [rows, vocab]. */
  head(h: Float32Array, rows: number): Float32Array {
    const c = this.ckpt.config.llm;
    const x = rmsNorm(h, rows, c.hiddenSize, this.get('language_model.model.norm.weight'), c.rmsNormEps);
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
