import { ModelConfig } from './config';

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

/** Every weight an InternVL2.5 checkpoint must hold, with its published name and shape (reference §5). */
export function expectedTensors(c: ModelConfig): ExpectedTensor[] {
  const v = c.vision;
  const l = c.llm;
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[]) => out.push({ name, shape });
  const vp = 'vision_model.';
  add(`${vp}embeddings.class_embedding`, [1, 1, v.hiddenSize]);
  add(`${vp}embeddings.patch_embedding.weight`, [v.hiddenSize, v.numChannels, v.patchSize, v.patchSize]);
  add(`${vp}embeddings.patch_embedding.bias`, [v.hiddenSize]);
  add(`${vp}embeddings.position_embedding`, [1, c.gridSize * c.gridSize + 1, v.hiddenSize]);
  for (let i = 0; i < v.numLayers; i++) {
    const p = `${vp}encoder.layers.${i}.`;
    add(`${p}ls1`, [v.hiddenSize]);
    add(`${p}ls2`, [v.hiddenSize]);
    add(`${p}attn.qkv.weight`, [3 * v.hiddenSize, v.hiddenSize]);
    if (v.qkvBias) add(`${p}attn.qkv.bias`, [3 * v.hiddenSize]);
    add(`${p}attn.proj.weight`, [v.hiddenSize, v.hiddenSize]);
    add(`${p}attn.proj.bias`, [v.hiddenSize]);
    add(`${p}mlp.fc1.weight`, [v.intermediateSize, v.hiddenSize]);
    add(`${p}mlp.fc1.bias`, [v.intermediateSize]);
    add(`${p}mlp.fc2.weight`, [v.hiddenSize, v.intermediateSize]);
    add(`${p}mlp.fc2.bias`, [v.hiddenSize]);
    add(`${p}norm1.weight`, [v.hiddenSize]);
    add(`${p}norm1.bias`, [v.hiddenSize]);
    add(`${p}norm2.weight`, [v.hiddenSize]);
    add(`${p}norm2.bias`, [v.hiddenSize]);
  }
  const shuffled = v.hiddenSize * Math.round(1 / c.downsampleRatio) ** 2;
  add('mlp1.0.weight', [shuffled]);
  add('mlp1.0.bias', [shuffled]);
  add('mlp1.1.weight', [l.hiddenSize, shuffled]);
  add('mlp1.1.bias', [l.hiddenSize]);
  add('mlp1.3.weight', [l.hiddenSize, l.hiddenSize]);
  add('mlp1.3.bias', [l.hiddenSize]);
  const lp = 'language_model.model.';
  add(`${lp}embed_tokens.weight`, [l.vocabSize, l.hiddenSize]);
  const q = l.numHeads * l.headDim;
  const kv = l.numKvHeads * l.headDim;
  for (let i = 0; i < l.numLayers; i++) {
    const p = `${lp}layers.${i}.`;
    add(`${p}input_layernorm.weight`, [l.hiddenSize]);
    add(`${p}self_attn.q_proj.weight`, [q, l.hiddenSize]);
    add(`${p}self_attn.q_proj.bias`, [q]);
    add(`${p}self_attn.k_proj.weight`, [kv, l.hiddenSize]);
    add(`${p}self_attn.k_proj.bias`, [kv]);
    add(`${p}self_attn.v_proj.weight`, [kv, l.hiddenSize]);
    add(`${p}self_attn.v_proj.bias`, [kv]);
    add(`${p}self_attn.o_proj.weight`, [l.hiddenSize, q]);
    add(`${p}post_attention_layernorm.weight`, [l.hiddenSize]);
    add(`${p}mlp.gate_proj.weight`, [l.intermediateSize, l.hiddenSize]);
    add(`${p}mlp.up_proj.weight`, [l.intermediateSize, l.hiddenSize]);
    add(`${p}mlp.down_proj.weight`, [l.hiddenSize, l.intermediateSize]);
  }
  add(`${lp}norm.weight`, [l.hiddenSize]);
  if (!l.tieWordEmbeddings) add('language_model.lm_head.weight', [l.vocabSize, l.hiddenSize]);
  return out;
}

/** The name that holds the output projection: lm_head, or the embedding table when tied. */
export function lmHeadName(c: ModelConfig): string {
  return c.llm.tieWordEmbeddings ? 'language_model.model.embed_tokens.weight' : 'language_model.lm_head.weight';
}
