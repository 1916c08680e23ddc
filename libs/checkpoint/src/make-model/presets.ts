/** Dimensions that define a generated checkpoint; everything else follows the published config of that size. */
export interface ModelDims {
  vision: {
    hiddenSize: number;
    numLayers: number;
    numHeads: number;
    intermediateSize: number;
    /** '300m': LayerNorm, biased qkv (1B–8B). '6b': RMSNorm, qk normalization, no qkv bias (26B–78B). */
    style?: '300m' | '6b';
  };
  llm: {
    kind?: 'qwen2' | 'internlm2';
    hiddenSize: number;
    numLayers: number;
    numHeads: number;
    numKvHeads: number;
    intermediateSize: number;
    tieWordEmbeddings: boolean;
    ropeTheta?: number;
    /** InternLM2's dynamic NTK factor (rope_scaling.factor). */
    ropeFactor?: number;
  };
}

const VIT_300M = { hiddenSize: 1024, numLayers: 24, numHeads: 16, intermediateSize: 4096, style: '300m' } as const;
const VIT_6B = { hiddenSize: 3200, numLayers: 45, numHeads: 25, intermediateSize: 12800, style: '6b' } as const;

/**
 * The real dimensions of every InternVL2.5 size (family doc §1–4), for benchmarks and memory planning, and tiny
 * variants for tests. The tiny presets keep the real image size (448), patch size (14), vocabulary and token ids,
 * so tiling, pixel shuffle and prompts are exercised for real, and vary the shapes that numerics depend on: GQA
 * ratio, odd widths that are not multiples of quantisation blocks, an odd ViT head count (as the 6B's 25), head_dim
 * 64, tied and untied heads, and each vision and LLM architecture.
 */
export const PRESETS: Record<string, ModelDims> = {
  // InternVL2_5-1B publishes its own lm_head (the card's 0.94B counts it); tiny-1b covers the tied form.
  '1b': { vision: VIT_300M, llm: { hiddenSize: 896, numLayers: 24, numHeads: 14, numKvHeads: 2, intermediateSize: 4864, tieWordEmbeddings: false } },
  '2b': { vision: VIT_300M, llm: { kind: 'internlm2', hiddenSize: 2048, numLayers: 24, numHeads: 16, numKvHeads: 8, intermediateSize: 8192, tieWordEmbeddings: false, ropeTheta: 1e6, ropeFactor: 2 } },
  '4b': {
    vision: { hiddenSize: 1024, numLayers: 24, numHeads: 16, intermediateSize: 4096 },
    llm: { hiddenSize: 2048, numLayers: 36, numHeads: 16, numKvHeads: 2, intermediateSize: 11008, tieWordEmbeddings: false },
  },
  '8b': { vision: VIT_300M, llm: { kind: 'internlm2', hiddenSize: 4096, numLayers: 32, numHeads: 32, numKvHeads: 8, intermediateSize: 14336, tieWordEmbeddings: false, ropeTheta: 1e6, ropeFactor: 2 } },
  '26b': { vision: VIT_6B, llm: { kind: 'internlm2', hiddenSize: 6144, numLayers: 48, numHeads: 48, numKvHeads: 8, intermediateSize: 16384, tieWordEmbeddings: false, ropeTheta: 5e7, ropeFactor: 2.5 } },
  '38b': { vision: VIT_6B, llm: { hiddenSize: 5120, numLayers: 64, numHeads: 40, numKvHeads: 8, intermediateSize: 27648, tieWordEmbeddings: false } },
  '78b': { vision: VIT_6B, llm: { hiddenSize: 8192, numLayers: 80, numHeads: 64, numKvHeads: 8, intermediateSize: 29568, tieWordEmbeddings: false } },
  tiny: {
    vision: { hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 128 },
    llm: { hiddenSize: 64, numLayers: 12, numHeads: 4, numKvHeads: 2, intermediateSize: 128, tieWordEmbeddings: false },
  },
  'tiny-odd': {
    vision: { hiddenSize: 48, numLayers: 1, numHeads: 3, intermediateSize: 80 },
    llm: { hiddenSize: 96, numLayers: 3, numHeads: 3, numKvHeads: 1, intermediateSize: 200, tieWordEmbeddings: false },
  },
  'tiny-mha': {
    vision: { hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64 },
    llm: { hiddenSize: 64, numLayers: 2, numHeads: 2, numKvHeads: 2, intermediateSize: 96, tieWordEmbeddings: true },
  },
  /** The 1B's shape: head_dim 64, tied head (no lm_head.weight in the file). */
  'tiny-1b': {
    vision: { hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64 },
    llm: { hiddenSize: 128, numLayers: 10, numHeads: 2, numKvHeads: 1, intermediateSize: 160, tieWordEmbeddings: true },
  },
  /** The 2B/8B's shape: InternViT-300M style with InternLM2 (grouped wqkv, G = 2). */
  'tiny-2b': {
    vision: { hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64 },
    llm: { kind: 'internlm2', hiddenSize: 64, numLayers: 6, numHeads: 4, numKvHeads: 2, intermediateSize: 128, tieWordEmbeddings: false, ropeTheta: 1e6, ropeFactor: 2 },
  },
  /** The 26B's shape: InternViT-6B style (odd head count) with InternLM2 (G = 3). */
  'tiny-26b': {
    vision: { hiddenSize: 80, numLayers: 2, numHeads: 5, intermediateSize: 160, style: '6b' },
    llm: { kind: 'internlm2', hiddenSize: 96, numLayers: 12, numHeads: 6, numKvHeads: 2, intermediateSize: 160, tieWordEmbeddings: false, ropeTheta: 5e7, ropeFactor: 2.5 },
  },
  /** The 38B/78B's shape: InternViT-6B style with an untied Qwen2. */
  'tiny-78b': {
    vision: { hiddenSize: 80, numLayers: 2, numHeads: 5, intermediateSize: 160, style: '6b' },
    llm: { hiddenSize: 64, numLayers: 10, numHeads: 4, numKvHeads: 1, intermediateSize: 128, tieWordEmbeddings: false },
  },
};

const LLM_SOURCES: Record<string, string> = {
  '896': 'Qwen/Qwen2.5-0.5B-Instruct',
  '5120': 'Qwen/Qwen2.5-32B-Instruct',
  '8192': 'Qwen/Qwen2.5-72B-Instruct',
  'internlm2:2048': 'internlm/internlm2_5-1_8b-chat',
  'internlm2:4096': 'internlm/internlm2_5-7b-chat',
  'internlm2:6144': 'internlm/internlm2_5-20b-chat',
};

/** InternLM2's llm_config as InternVL2.5-2B/8B/26B publish it, with the given dimensions. */
function internLm2Config(d: ModelDims['llm']): Record<string, unknown> {
  return {
    _name_or_path: LLM_SOURCES[`internlm2:${d.hiddenSize}`] ?? 'internlm/internlm2_5-7b-chat',
    add_cross_attention: false,
    architectures: ['InternLM2ForCausalLM'],
    attn_implementation: 'flash_attention_2',
    auto_map: {
      AutoConfig: 'configuration_internlm2.InternLM2Config',
      AutoModel: 'modeling_internlm2.InternLM2ForCausalLM',
      AutoModelForCausalLM: 'modeling_internlm2.InternLM2ForCausalLM',
    },
    bias: false,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    hidden_size: d.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: d.intermediateSize,
    max_position_embeddings: 32768,
    model_type: 'internlm2',
    num_attention_heads: d.numHeads,
    num_hidden_layers: d.numLayers,
    num_key_value_heads: d.numKvHeads,
    pad_token_id: 2,
    rms_norm_eps: 1e-5,
    rope_scaling: { factor: d.ropeFactor ?? 2.0, type: 'dynamic' },
    rope_theta: d.ropeTheta ?? 1000000,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    transformers_version: '4.37.2',
    use_bfloat16: true,
    use_cache: true,
    vocab_size: 92553,
  };
}

function qwen2Config(d: ModelDims['llm']): Record<string, unknown> {
  return {
    _name_or_path: LLM_SOURCES[String(d.hiddenSize)] ?? 'Qwen/Qwen2.5-3B-Instruct',
    add_cross_attention: false,
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
    hidden_act: 'silu',
    hidden_size: d.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: d.intermediateSize,
    max_position_embeddings: 32768,
    max_window_layers: 70,
    model_type: 'qwen2',
    num_attention_heads: d.numHeads,
    num_hidden_layers: d.numLayers,
    num_key_value_heads: d.numKvHeads,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: d.ropeTheta ?? 1000000.0,
    sliding_window: 32768,
    tie_word_embeddings: d.tieWordEmbeddings,
    torch_dtype: 'bfloat16',
    transformers_version: '4.37.2',
    use_bfloat16: true,
    use_cache: true,
    use_sliding_window: false,
    vocab_size: 151674,
  };
}

/** The published config.json keys of the size these dimensions describe (InternVL2_5-4B's for the 300M + Qwen2 shape). */
export function publishedConfig(d: ModelDims, dtype: 'bfloat16' | 'float16' | 'float32'): Record<string, unknown> {
  const vit6b = d.vision.style === '6b';
  return {
    _commit_hash: null,
    architectures: ['InternVLChatModel'],
    auto_map: {
      AutoConfig: 'configuration_internvl_chat.InternVLChatConfig',
      AutoModel: 'modeling_internvl_chat.InternVLChatModel',
      AutoModelForCausalLM: 'modeling_internvl_chat.InternVLChatModel',
    },
    downsample_ratio: 0.5,
    dynamic_image_size: true,
    force_image_size: 448,
    llm_config: d.llm.kind === 'internlm2' ? internLm2Config(d.llm) : qwen2Config(d.llm),
    max_dynamic_patch: 12,
    min_dynamic_patch: 1,
    model_type: 'internvl_chat',
    ps_version: 'v2',
    select_layer: -1,
    template: 'internvl2_5',
    tie_word_embeddings: false,
    torch_dtype: dtype,
    transformers_version: null,
    use_backbone_lora: 0,
    use_llm_lora: 0,
    use_thumbnail: true,
    vision_config: {
      architectures: ['InternVisionModel'],
      attention_dropout: 0.0,
      drop_path_rate: vit6b ? 0.4 : 0.1,
      dropout: 0.0,
      hidden_act: 'gelu',
      hidden_size: d.vision.hiddenSize,
      image_size: 448,
      initializer_factor: 0.1,
      initializer_range: 1e-10,
      intermediate_size: d.vision.intermediateSize,
      layer_norm_eps: 1e-6,
      model_type: 'intern_vit_6b',
      norm_type: vit6b ? 'rms_norm' : 'layer_norm',
      num_attention_heads: d.vision.numHeads,
      num_channels: 3,
      num_hidden_layers: d.vision.numLayers,
      patch_size: 14,
      qk_normalization: vit6b,
      qkv_bias: !vit6b,
      torch_dtype: 'bfloat16',
      use_bfloat16: true,
      use_flash_attn: true,
    },
  };
}

/** generation_config.json as published (129 bytes). */
export const PUBLISHED_GENERATION_CONFIG = { _from_model_config: true, eos_token_id: [151644, 151645, 151643], transformers_version: '4.37.2' };

/** generation_config.json of the InternLM2 sizes: stop on `<|im_end|>` and `<|im_start|>` (family doc §5). */
export const INTERNLM2_GENERATION_CONFIG = { _from_model_config: true, bos_token_id: 1, eos_token_id: [92542, 92543], transformers_version: '4.37.2' };
