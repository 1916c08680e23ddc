import { LlmKind, ModelConfig } from './config';

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

/** Published names of one decoder layer's weights; q/k/v are one packed `wqkv` in InternLM2. */
export interface LlmLayerNames {
  inNorm: string;
  postNorm: string;
  /** Qwen2: separate projections with biases. */
  q?: string;
  k?: string;
  v?: string;
  /** InternLM2: [nKV][G + 2][D] rows (family doc §3). */
  wqkv?: string;
  o: string;
  gate: string;
  up: string;
  down: string;
}

export interface LlmNames {
  embed: string;
  finalNorm: string;
  /** The untied head's tensor (lm_head or output); when tied, the embedding table is the head. */
  head: string;
  layer(i: number): LlmLayerNames;
}

/** Tensor names of the language model of each kind (reference §5, family doc §3). */
export function llmNames(kind: LlmKind): LlmNames {
  const lp = 'language_model.model.';
  if (kind === 'internlm2') {
    return {
      embed: `${lp}tok_embeddings.weight`,
      finalNorm: `${lp}norm.weight`,
      head: 'language_model.output.weight',
      layer: (i) => {
        const p = `${lp}layers.${i}.`;
        return {
          inNorm: `${p}attention_norm.weight`,
          postNorm: `${p}ffn_norm.weight`,
          wqkv: `${p}attention.wqkv.weight`,
          o: `${p}attention.wo.weight`,
          gate: `${p}feed_forward.w1.weight`,
          up: `${p}feed_forward.w3.weight`,
          down: `${p}feed_forward.w2.weight`,
        };
      },
    };
  }
  return {
    embed: `${lp}embed_tokens.weight`,
    finalNorm: `${lp}norm.weight`,
    head: 'language_model.lm_head.weight',
    layer: (i) => {
      const p = `${lp}layers.${i}.`;
      return {
        inNorm: `${p}input_layernorm.weight`,
        postNorm: `${p}post_attention_layernorm.weight`,
        q: `${p}self_attn.q_proj`,
        k: `${p}self_attn.k_proj`,
        v: `${p}self_attn.v_proj`,
        o: `${p}self_attn.o_proj.weight`,
        gate: `${p}mlp.gate_proj.weight`,
        up: `${p}mlp.up_proj.weight`,
        down: `${p}mlp.down_proj.weight`,
      };
    },
  };
}

/** Which parts of the model a set of tensors serves: stage-local conversion reads only these. */
export interface ModelParts {
  vision: boolean;
  embed: boolean;
  head: boolean;
  /** Decoder layers held, as half-open ranges. */
  layers: Array<[number, number]>;
}

export function allParts(c: ModelConfig): ModelParts {
  return { vision: true, embed: true, head: true, layers: [[0, c.llm.numLayers]] };
}

export function holdsLayer(parts: ModelParts, i: number): boolean {
  return parts.layers.some(([a, b]) => i >= a && i < b);
}

/** Vision tensors of InternViT (300M or 6B style, as vision_config says) and mlp1. */
function visionTensors(c: ModelConfig, add: (name: string, shape: number[]) => void): void {
  const v = c.vision;
  const l = c.llm;
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
    if (v.qkNormalization) {
      add(`${p}attn.q_norm.weight`, [v.hiddenSize]);
      add(`${p}attn.k_norm.weight`, [v.hiddenSize]);
    }
    add(`${p}attn.proj.weight`, [v.hiddenSize, v.hiddenSize]);
    add(`${p}attn.proj.bias`, [v.hiddenSize]);
    add(`${p}mlp.fc1.weight`, [v.intermediateSize, v.hiddenSize]);
    add(`${p}mlp.fc1.bias`, [v.intermediateSize]);
    add(`${p}mlp.fc2.weight`, [v.hiddenSize, v.intermediateSize]);
    add(`${p}mlp.fc2.bias`, [v.hiddenSize]);
    add(`${p}norm1.weight`, [v.hiddenSize]);
    if (v.normType === 'layer_norm') add(`${p}norm1.bias`, [v.hiddenSize]);
    add(`${p}norm2.weight`, [v.hiddenSize]);
    if (v.normType === 'layer_norm') add(`${p}norm2.bias`, [v.hiddenSize]);
  }
  const shuffled = v.hiddenSize * Math.round(1 / c.downsampleRatio) ** 2;
  add('mlp1.0.weight', [shuffled]);
  add('mlp1.0.bias', [shuffled]);
  add('mlp1.1.weight', [l.hiddenSize, shuffled]);
  add('mlp1.1.bias', [l.hiddenSize]);
  add('mlp1.3.weight', [l.hiddenSize, l.hiddenSize]);
  add('mlp1.3.bias', [l.hiddenSize]);
}

/** The tensors of one decoder layer, by name and shape. */
export function layerTensors(c: ModelConfig, i: number): ExpectedTensor[] {
  const l = c.llm;
  const n = llmNames(l.kind).layer(i);
  const q = l.numHeads * l.headDim;
  const kv = l.numKvHeads * l.headDim;
  const out: ExpectedTensor[] = [{ name: n.inNorm, shape: [l.hiddenSize] }];
  if (n.wqkv) out.push({ name: n.wqkv, shape: [q + 2 * kv, l.hiddenSize] });
  else {
    out.push({ name: `${n.q}.weight`, shape: [q, l.hiddenSize] }, { name: `${n.q}.bias`, shape: [q] });
    out.push({ name: `${n.k}.weight`, shape: [kv, l.hiddenSize] }, { name: `${n.k}.bias`, shape: [kv] });
    out.push({ name: `${n.v}.weight`, shape: [kv, l.hiddenSize] }, { name: `${n.v}.bias`, shape: [kv] });
  }
  out.push({ name: n.o, shape: [l.hiddenSize, q] });
  out.push({ name: n.postNorm, shape: [l.hiddenSize] });
  out.push({ name: n.gate, shape: [l.intermediateSize, l.hiddenSize] });
  out.push({ name: n.up, shape: [l.intermediateSize, l.hiddenSize] });
  out.push({ name: n.down, shape: [l.hiddenSize, l.intermediateSize] });
  return out;
}

/**
 * Every weight an InternVL2.5 checkpoint must hold for the given parts (all by default), with its published name
 * and shape (reference §5, family doc §2–4).
 */
export function expectedTensors(c: ModelConfig, parts: ModelParts = allParts(c)): ExpectedTensor[] {
  const l = c.llm;
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[]) => out.push({ name, shape });
  if (parts.vision) visionTensors(c, add);
  const names = llmNames(l.kind);
  if (parts.embed || (parts.head && l.tieWordEmbeddings)) add(names.embed, [l.vocabSize, l.hiddenSize]);
  for (let i = 0; i < l.numLayers; i++) if (holdsLayer(parts, i)) out.push(...layerTensors(c, i));
  if (parts.head) {
    add(names.finalNorm, [l.hiddenSize]);
    if (!l.tieWordEmbeddings) add(names.head, [l.vocabSize, l.hiddenSize]);
  }
  return out;
}

/** The name that holds the output projection: lm_head/output, or the embedding table when tied. */
export function lmHeadName(c: ModelConfig): string {
  const names = llmNames(c.llm.kind);
  return c.llm.tieWordEmbeddings ? names.embed : names.head;
}
