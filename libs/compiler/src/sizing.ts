import { ModelConfig, ModelParts, allParts, holdsLayer } from '@ivl/checkpoint';
import { WeightFormat, activationTypeFor, defaultBlockSize } from './manifest';

const ALIGN = 64;

/** What one stage of a plan needs: its bundle's weight bytes, and KV cache bytes per token of context. */
export interface StageSize {
  weightBytes: number;
  kvBytesPerToken: number;
}

/**
 * The bytes a bundle holding `parts` of this model takes in a weight format, computed from the dimensions with the
 * converter's storage rules (dense float, or block-quantised codes plus fp32 scales; vision and head 8-bit in the
 * int formats; embeddings fp16; norms fp32), without converting anything. For memory planning (docs/deployment.md).
 */
export function estimateStageSize(c: ModelConfig, dtype: WeightFormat, parts: ModelParts = allParts(c), blockSize = defaultBlockSize(dtype)): StageSize {
  const act = activationTypeFor(dtype) === 'float32' ? 4 : 2;
  const small = dtype === 'fp16' ? 2 : 4;
  const embedBytes = dtype === 'fp32' ? 4 : 2;
  let total = 0;
  const add = (bytes: number) => (total += Math.ceil(bytes / ALIGN) * ALIGN);
  const float = (n: number, bytes: number) => add(n * bytes);
  const linear = (N: number, K: number, kind: 'llm' | 'vision' | 'head') => {
    if (dtype === 'fp32' || dtype === 'fp16') return add(N * K * (dtype === 'fp32' ? 4 : 2));
    const bits = dtype === 'int4' && kind === 'llm' ? 4 : 8;
    const kBlocks = Math.ceil(K / blockSize);
    add((N * kBlocks * blockSize * bits) / 8);
    add(N * kBlocks * small);
  };
  const v = c.vision;
  const l = c.llm;
  if (parts.vision) {
    const C = v.hiddenSize;
    float(C * 3 * v.patchSize * v.patchSize, dtype === 'fp16' ? 2 : 4);
    float(C, small);
    float(C, small);
    float((c.gridSize * c.gridSize + 1) * C, small);
    const vectors = 4 + (v.normType === 'layer_norm' ? 2 : 0) + (v.qkNormalization ? 2 : 0);
    for (let i = 0; i < v.numLayers; i++) {
      for (let j = 0; j < vectors; j++) float(C, small);
      linear(3 * C, C, 'vision');
      if (v.qkvBias) float(3 * C, small);
      linear(C, C, 'vision');
      float(C, small);
      linear(v.intermediateSize, C, 'vision');
      float(v.intermediateSize, small);
      linear(C, v.intermediateSize, 'vision');
      float(C, small);
    }
    float(4 * C, small);
    float(4 * C, small);
    linear(l.hiddenSize, 4 * C, 'vision');
    float(l.hiddenSize, small);
    linear(l.hiddenSize, l.hiddenSize, 'vision');
    float(l.hiddenSize, small);
  }
  if (parts.embed) float(l.vocabSize * l.hiddenSize, embedBytes);
  const q = l.numHeads * l.headDim;
  const kv = l.numKvHeads * l.headDim;
  let layers = 0;
  for (let i = 0; i < l.numLayers; i++) if (holdsLayer(parts, i)) layers++;
  if (layers) {
    float(l.maxPositionEmbeddings * (l.headDim / 2), act);
    float(l.maxPositionEmbeddings * (l.headDim / 2), act);
  }
  for (let i = 0; i < layers; i++) {
    float(l.hiddenSize, small);
    linear(q + 2 * kv, l.hiddenSize, 'llm');
    float(q + 2 * kv, small);
    linear(l.hiddenSize, q, 'llm');
    float(l.hiddenSize, small);
    linear(2 * l.intermediateSize, l.hiddenSize, 'llm');
    linear(l.hiddenSize, l.intermediateSize, 'llm');
  }
  if (parts.head) {
    float(l.hiddenSize, small);
    linear(l.vocabSize, l.hiddenSize, 'head');
  }
  return { weightBytes: total, kvBytesPerToken: layers * 2 * kv * act };
}
