/** Dimensions that define a generated checkpoint; everything else follows InternVL2_5-4B's config. */
export interface ModelDims {
  vision: { hiddenSize: number; numLayers: number; numHeads: number; intermediateSize: number };
  llm: { hiddenSize: number; numLayers: number; numHeads: number; numKvHeads: number; intermediateSize: number; tieWordEmbeddings: boolean };
}

/**
 * `4b` has InternVL2_5-4B's real dimensions (for benchmarks). The tiny presets keep the real image size (448),
 * patch size (14), vocabulary and token ids, so tiling, pixel shuffle and prompts are exercised for real, and
 * vary the shapes that numerics depend on: GQA ratio, odd widths that are not multiples of quantisation blocks,
 * tied and untied heads.
 */
export const PRESETS: Record<string, ModelDims> = {
  '4b': {
    vision: { hiddenSize: 1024, numLayers: 24, numHeads: 16, intermediateSize: 4096 },
    llm: { hiddenSize: 2048, numLayers: 36, numHeads: 16, numKvHeads: 2, intermediateSize: 11008, tieWordEmbeddings: false },
  },
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
};

/** InternVL2_5-4B's config.json keys, with the given dimensions. */
export function publishedConfig(d: ModelDims, dtype: 'bfloat16' | 'float16' | 'float32'): Record<string, unknown> {
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
    llm_config: {
      _name_or_path: 'Qwen/Qwen2.5-3B-Instruct',
      add_cross_attention: false,
      architectures: ['Qwen2ForCausalLM'],
      attention_dropout: 0.0,
      bos_token_id: 151643,
      eos_token_id: 151645,
      hidden_act: 'silu',
      hidden_size: d.llm.hiddenSize,
      initializer_range: 0.02,
      intermediate_size: d.llm.intermediateSize,
      max_position_embeddings: 32768,
      max_window_layers: 70,
      model_type: 'qwen2',
      num_attention_heads: d.llm.numHeads,
      num_hidden_layers: d.llm.numLayers,
      num_key_value_heads: d.llm.numKvHeads,
      rms_norm_eps: 1e-6,
      rope_scaling: null,
      rope_theta: 1000000.0,
      sliding_window: 32768,
      tie_word_embeddings: d.llm.tieWordEmbeddings,
      torch_dtype: 'bfloat16',
      transformers_version: '4.37.2',
      use_bfloat16: true,
      use_cache: true,
      use_sliding_window: false,
      vocab_size: 151674,
    },
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
      drop_path_rate: 0.1,
      dropout: 0.0,
      hidden_act: 'gelu',
      hidden_size: d.vision.hiddenSize,
      image_size: 448,
      initializer_factor: 0.1,
      initializer_range: 1e-10,
      intermediate_size: d.vision.intermediateSize,
      layer_norm_eps: 1e-6,
      model_type: 'intern_vit_6b',
      norm_type: 'layer_norm',
      num_attention_heads: d.vision.numHeads,
      num_channels: 3,
      num_hidden_layers: d.vision.numLayers,
      patch_size: 14,
      qk_normalization: false,
      qkv_bias: true,
      torch_dtype: 'bfloat16',
      use_bfloat16: true,
      use_flash_attn: true,
    },
  };
}

/** generation_config.json as published (129 bytes). */
export const PUBLISHED_GENERATION_CONFIG = { _from_model_config: true, eos_token_id: [151644, 151645, 151643], transformers_version: '4.37.2' };
