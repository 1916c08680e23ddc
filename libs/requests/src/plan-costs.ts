import type { ModelConfig } from '@ivl/checkpoint';
import type { StageCosts } from '@ivl/plan';

/**
 * Parameters each part touches per generated token: a decoder layer, and stage 0's fixed extras (vision encoder
 * and projector, counted once per token as the worst case of an image per short answer, plus norm and lm_head).
 */
export function planCosts(c: ModelConfig): StageCosts {
  const l = c.llm;
  const v = c.vision;
  const q = l.numHeads * l.headDim;
  const kv = l.numKvHeads * l.headDim;
  const perLayer = l.hiddenSize * (q + 2 * kv) + q + 2 * kv + q * l.hiddenSize + 3 * l.hiddenSize * l.intermediateSize + 2 * l.hiddenSize;
  const vitLayer = 4 * v.hiddenSize * v.hiddenSize + 2 * v.hiddenSize * v.intermediateSize;
  const vision = v.numLayers * vitLayer + 4 * v.hiddenSize * l.hiddenSize + l.hiddenSize * l.hiddenSize;
  const head = l.vocabSize * l.hiddenSize + l.hiddenSize;
  return { perLayer, stageZeroExtra: vision + head };
}
