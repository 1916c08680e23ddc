import { ModelConfig } from '../config';

/** How one tensor is drawn: uniform noise with this mean and standard deviation. */
export interface InitSpec {
  mean: number;
  std: number;
}

/**
 * Scales chosen so activations stay O(1) through every layer (fan-in scaling, layer scale ~0.1 as InternViT's
 * initializer_factor) and the head spreads logits enough (std ≈ 4) that different inputs give clearly different
 * next tokens.
 */
export function initFor(name: string, shape: number[], c: ModelConfig): InitSpec {
  const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  const last = name.split('.').pop()!;
  if (/norm\d?\.weight$|layernorm\.weight$|_norm\.weight$|^mlp1\.0\.weight$|model\.norm\.weight$/.test(name)) return { mean: 1, std: 0.1 };
  if (/norm\d?\.bias$|^mlp1\.0\.bias$/.test(name)) return { mean: 0, std: 0.02 };
  if (/\.ls[12]$/.test(name)) return { mean: 0.1, std: 0.02 };
  if (name.endsWith('class_embedding') || name.endsWith('position_embedding')) return { mean: 0, std: 0.1 };
  if (name.endsWith('embed_tokens.weight') || name.endsWith('tok_embeddings.weight')) return { mean: 0, std: 1 };
  if (name === 'language_model.lm_head.weight' || name === 'language_model.output.weight') return { mean: 0, std: 4 / Math.sqrt(c.llm.hiddenSize) };
  if (/(k_proj|q_proj|v_proj)\.bias$/.test(name)) return { mean: 0, std: 0.1 };
  if (last === 'bias') return { mean: 0, std: 0.02 };
  // Output projections write small updates into the residual stream, as in trained transformers: each layer
  // refines the stream rather than replacing it, which keeps weight-only quantisation error from compounding.
  if (/(o_proj|down_proj|attention\.wo|feed_forward\.w2)\.weight$/.test(name)) return { mean: 0, std: 0.25 / Math.sqrt(fanIn) };
  if (/(attn\.proj|fc2)\.weight$/.test(name)) return { mean: 0, std: 0.5 / Math.sqrt(fanIn) };
  return { mean: 0, std: 1 / Math.sqrt(fanIn) };
}
