import { Checkpoint, ModelConfig } from '@ivl/checkpoint';
import { WeightCache } from './weight-cache';
import { gelu, layerNorm, linear, rmsNorm, softmaxInPlace } from './math';

/**
 * InternViT + pixel shuffle + mlp1 exactly as reference §4.1–4.4 (InternViT-6B's RMSNorm and full-width q/k norm as
 * family doc §2), for 448-px tiles:
 * pixel values [T, 3, 448, 448] → image embeddings [T, numImageToken, llm hidden].
 */
export class ReferenceVision {
  private readonly weights: WeightCache;
  constructor(private readonly ckpt: Checkpoint) {
    this.weights = new WeightCache(ckpt);
  }

  private get(name: string): Float32Array {
    return this.weights.get(name);
  }

  get config(): ModelConfig {
    return this.ckpt.config;
  }

  /** ViT last hidden state for one tile: [1 + grid², C]. */
  encodeTile(pixels: Float32Array): Float32Array {
    const c = this.config;
    const C = c.vision.hiddenSize;
    const P = c.vision.patchSize;
    const G = c.gridSize;
    const S = c.vision.imageSize;
    const N = G * G + 1;
    const pw = this.get('vision_model.embeddings.patch_embedding.weight');
    const pb = this.get('vision_model.embeddings.patch_embedding.bias');
    const cls = this.get('vision_model.embeddings.class_embedding');
    const pos = this.get('vision_model.embeddings.position_embedding');
    const h = new Float32Array(N * C);
    for (let i = 0; i < C; i++) h[i] = cls[i] + pos[i];
    for (let y = 0; y < G; y++) {
      for (let x = 0; x < G; x++) {
        const row = 1 + y * G + x;
        for (let o = 0; o < C; o++) {
          let s = pb[o];
          for (let ch = 0; ch < 3; ch++) {
            for (let ky = 0; ky < P; ky++) {
              const src = ch * S * S + (y * P + ky) * S + x * P;
              const wo = ((o * 3 + ch) * P + ky) * P;
              for (let kx = 0; kx < P; kx++) s += pixels[src + kx] * pw[wo + kx];
            }
          }
          h[row * C + o] = s + pos[row * C + o];
        }
      }
    }
    for (let l = 0; l < c.vision.numLayers; l++) this.layer(h, N, l);
    return h;
  }

  private layer(h: Float32Array, N: number, l: number): void {
    const c = this.config.vision;
    const C = c.hiddenSize;
    const H = c.numHeads;
    const D = C / H;
    const p = `vision_model.encoder.layers.${l}.`;
    const norm = (t: Float32Array, rows: number, name: string) =>
      c.normType === 'rms_norm' ? rmsNorm(t, rows, C, this.get(p + name + '.weight'), c.layerNormEps) : layerNorm(t, rows, C, this.get(p + name + '.weight'), this.get(p + name + '.bias'), c.layerNormEps);
    const x = norm(h, N, 'norm1');
    const qkv = linear(x, N, C, this.get(p + 'attn.qkv.weight'), 3 * C, c.qkvBias ? this.get(p + 'attn.qkv.bias') : undefined);
    if (c.qkNormalization) {
      // One RMSNorm over all C = heads·D features of q, and one of k, per token (not per head).
      for (const [off, name] of [[0, 'attn.q_norm'], [C, 'attn.k_norm']] as const) {
        const part = new Float32Array(N * C);
        for (let i = 0; i < N; i++) part.set(qkv.subarray(i * 3 * C + off, i * 3 * C + off + C), i * C);
        const normed = rmsNorm(part, N, C, this.get(p + name + '.weight'), c.layerNormEps);
        for (let i = 0; i < N; i++) qkv.set(normed.subarray(i * C, (i + 1) * C), i * 3 * C + off);
      }
    }
    const o = new Float32Array(N * C);
    const scores = new Float64Array(N);
    const scale = 1 / Math.sqrt(D);
    for (let hd = 0; hd < H; hd++) {
      for (let i = 0; i < N; i++) {
        const qo = i * 3 * C + hd * D;
        for (let j = 0; j < N; j++) {
          const ko = j * 3 * C + C + hd * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += qkv[qo + d] * scale * qkv[ko + d];
          scores[j] = s;
        }
        softmaxInPlace(scores, N);
        for (let d = 0; d < D; d++) {
          let s = 0;
          for (let j = 0; j < N; j++) s += scores[j] * qkv[j * 3 * C + 2 * C + hd * D + d];
          o[i * C + hd * D + d] = s;
        }
      }
    }
    const attn = linear(o, N, C, this.get(p + 'attn.proj.weight'), C, this.get(p + 'attn.proj.bias'));
    const ls1 = this.get(p + 'ls1');
    for (let i = 0; i < N * C; i++) h[i] += ls1[i % C] * attn[i];
    const x2 = norm(h, N, 'norm2');
    const f1 = linear(x2, N, C, this.get(p + 'mlp.fc1.weight'), c.intermediateSize, this.get(p + 'mlp.fc1.bias'));
    for (let i = 0; i < f1.length; i++) f1[i] = gelu(f1[i]);
    const f2 = linear(f1, N, c.intermediateSize, this.get(p + 'mlp.fc2.weight'), C, this.get(p + 'mlp.fc2.bias'));
    const ls2 = this.get(p + 'ls2');
    for (let i = 0; i < N * C; i++) h[i] += ls2[i % C] * f2[i];
  }

  /** Drop CLS and apply the pixel-shuffle index map of §4.3 (v2; v1 transposes the output grid). */
  pixelShuffle(vit: Float32Array): Float32Array {
    const cfg = this.config;
    const C = cfg.vision.hiddenSize;
    const G = cfg.gridSize;
    const g = G / 2;
    const out = new Float32Array(g * g * 4 * C);
    for (let i = 0; i < g; i++) {
      for (let j = 0; j < g; j++) {
        const k = cfg.psVersion === 'v2' ? g * i + j : g * j + i;
        for (let dy = 0; dy < 2; dy++) {
          for (let dx = 0; dx < 2; dx++) {
            const src = (1 + G * (2 * i + dy) + (2 * j + dx)) * C;
            const dst = k * 4 * C + 2 * C * dy + C * dx;
            out.set(vit.subarray(src, src + C), dst);
          }
        }
      }
    }
    return out;
  }

  /** mlp1: LayerNorm(eps 1e-5) → Linear → GELU → Linear. */
  project(shuffled: Float32Array, rows: number): Float32Array {
    const cfg = this.config;
    const inDim = 4 * cfg.vision.hiddenSize;
    const Hl = cfg.llm.hiddenSize;
    const x = layerNorm(shuffled, rows, inDim, this.get('mlp1.0.weight'), this.get('mlp1.0.bias'), 1e-5);
    const a = linear(x, rows, inDim, this.get('mlp1.1.weight'), Hl, this.get('mlp1.1.bias'));
    for (let i = 0; i < a.length; i++) a[i] = gelu(a[i]);
    return linear(a, rows, Hl, this.get('mlp1.3.weight'), Hl, this.get('mlp1.3.bias'));
  }

  /** pixel values [T,3,S,S] → [T·numImageToken, llm hidden]. */
  embedImages(pixelValues: Float32Array, numTiles: number): Float32Array {
    const cfg = this.config;
    const S = cfg.vision.imageSize;
    const per = 3 * S * S;
    const tok = cfg.numImageToken;
    const out = new Float32Array(numTiles * tok * cfg.llm.hiddenSize);
    for (let t = 0; t < numTiles; t++) {
      const vit = this.encodeTile(pixelValues.subarray(t * per, (t + 1) * per));
      out.set(this.project(this.pixelShuffle(vit), tok), t * tok * cfg.llm.hiddenSize);
    }
    return out;
  }
}
