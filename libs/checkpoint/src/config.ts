import { CheckpointError } from './errors';

export interface VisionConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  imageSize: number;
  patchSize: number;
  numChannels: number;
  layerNormEps: number;
  qkvBias: boolean;
}

export interface LlmConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
}

/** The parts of an InternVL2.5 `config.json` that inference depends on, validated. */
export interface ModelConfig {
  vision: VisionConfig;
  llm: LlmConfig;
  downsampleRatio: number;
  psVersion: 'v1' | 'v2';
  selectLayer: number;
  template: string;
  forceImageSize: number;
  dynamicImageSize: boolean;
  useThumbnail: boolean;
  minDynamicPatch: number;
  maxDynamicPatch: number;
  /** Tokens per 448-px tile after pixel shuffle: (imageSize / patchSize)² · downsampleRatio². */
  numImageToken: number;
  /** Patches per side of a tile (32 for 448 / 14). */
  gridSize: number;
}

export const SUPPORTED =
  'InternVLChatModel with an InternViT-300M-style vision encoder (norm_type layer_norm, no qk_normalization, ' +
  'ps_version v2 or v1, downsample_ratio 0.5) and a Qwen2ForCausalLM language model, as in InternVL2.5-1B and ' +
  'InternVL2.5-4B';

type Json = Record<string, unknown>;

function num(obj: Json, key: string, where: string, fallback?: number): number {
  const v = obj[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new CheckpointError(`config.json: ${where}${key} must be a number (got ${JSON.stringify(obj[key])})`);
  return v;
}

function int(obj: Json, key: string, where: string, fallback?: number): number {
  const v = num(obj, key, where, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new CheckpointError(`config.json: ${where}${key} must be a positive integer (got ${v})`);
  return v;
}

function unsupported(what: string): never {
  throw new CheckpointError(`unsupported model: ${what}. Supported: ${SUPPORTED}.`);
}

export function parseModelConfig(raw: unknown): ModelConfig {
  if (!raw || typeof raw !== 'object') throw new CheckpointError('config.json is not a JSON object');
  const c = raw as Json;
  const archs = (c.architectures as string[] | undefined) ?? [];
  if (c.model_type !== 'internvl_chat' && !archs.includes('InternVLChatModel')) {
    unsupported(`architecture ${JSON.stringify(archs.length ? archs : c.model_type)}`);
  }
  const v = c.vision_config as Json | undefined;
  const l = c.llm_config as Json | undefined;
  if (!v || typeof v !== 'object') throw new CheckpointError('config.json: vision_config is missing');
  if (!l || typeof l !== 'object') throw new CheckpointError('config.json: llm_config is missing');

  const llmArch = ((l.architectures as string[] | undefined) ?? [])[0] ?? String(l.model_type);
  if (llmArch !== 'Qwen2ForCausalLM' && l.model_type !== 'qwen2') unsupported(`language model ${llmArch}`);
  if ((v.norm_type ?? 'layer_norm') !== 'layer_norm') unsupported(`vision norm_type ${String(v.norm_type)}`);
  if (v.qk_normalization === true) unsupported('vision qk_normalization');
  if ((v.hidden_act ?? 'gelu') !== 'gelu') unsupported(`vision hidden_act ${String(v.hidden_act)}`);
  if ((l.hidden_act ?? 'silu') !== 'silu') unsupported(`llm hidden_act ${String(l.hidden_act)}`);
  if (l.use_sliding_window === true) unsupported('llm use_sliding_window');
  if (l.rope_scaling != null) unsupported(`llm rope_scaling ${JSON.stringify(l.rope_scaling)}`);
  const psVersion = (c.ps_version ?? 'v1') as string;
  if (psVersion !== 'v1' && psVersion !== 'v2') unsupported(`ps_version ${psVersion}`);
  const downsampleRatio = num(c, 'downsample_ratio', '', 0.5);
  if (downsampleRatio !== 0.5) unsupported(`downsample_ratio ${downsampleRatio}`);
  const selectLayer = num(c, 'select_layer', '', -1);
  if (selectLayer !== -1) unsupported(`select_layer ${selectLayer}`);

  const vision: VisionConfig = {
    hiddenSize: int(v, 'hidden_size', 'vision_config.'),
    numLayers: int(v, 'num_hidden_layers', 'vision_config.'),
    numHeads: int(v, 'num_attention_heads', 'vision_config.'),
    intermediateSize: int(v, 'intermediate_size', 'vision_config.'),
    imageSize: int(v, 'image_size', 'vision_config.', 448),
    patchSize: int(v, 'patch_size', 'vision_config.', 14),
    numChannels: int(v, 'num_channels', 'vision_config.', 3),
    layerNormEps: num(v, 'layer_norm_eps', 'vision_config.', 1e-6),
    qkvBias: v.qkv_bias !== false,
  };
  if (vision.hiddenSize % vision.numHeads) throw new CheckpointError('config.json: vision hidden_size is not a multiple of num_attention_heads');
  const gridSize = vision.imageSize / vision.patchSize;
  if (!Number.isInteger(gridSize) || gridSize % 2) throw new CheckpointError(`config.json: image_size ${vision.imageSize} / patch_size ${vision.patchSize} must be an even integer`);
  if (vision.numChannels !== 3) unsupported(`vision num_channels ${vision.numChannels}`);

  const hiddenSize = int(l, 'hidden_size', 'llm_config.');
  const numHeads = int(l, 'num_attention_heads', 'llm_config.');
  if (hiddenSize % numHeads) throw new CheckpointError('config.json: llm hidden_size is not a multiple of num_attention_heads');
  const headDim = typeof l.head_dim === 'number' ? (l.head_dim as number) : hiddenSize / numHeads;
  const numKvHeads = int(l, 'num_key_value_heads', 'llm_config.', numHeads);
  if (numHeads % numKvHeads) throw new CheckpointError('config.json: llm num_attention_heads is not a multiple of num_key_value_heads');
  if (headDim % 16) unsupported(`llm head_dim ${headDim} (onnxruntime's GroupQueryAttention needs a multiple of 16)`);
  const llm: LlmConfig = {
    hiddenSize,
    numLayers: int(l, 'num_hidden_layers', 'llm_config.'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: int(l, 'intermediate_size', 'llm_config.'),
    rmsNormEps: num(l, 'rms_norm_eps', 'llm_config.', 1e-6),
    ropeTheta: num(l, 'rope_theta', 'llm_config.', 10000),
    vocabSize: int(l, 'vocab_size', 'llm_config.'),
    maxPositionEmbeddings: int(l, 'max_position_embeddings', 'llm_config.', 32768),
    // InternVL forces an untied head unless the checkpoint says otherwise explicitly.
    tieWordEmbeddings: l.tie_word_embeddings === true,
    bosTokenId: (l.bos_token_id as number | undefined) ?? null,
    eosTokenId: (l.eos_token_id as number | number[] | undefined) ?? null,
  };
  const numImageToken = Math.round(gridSize * gridSize * downsampleRatio * downsampleRatio);
  return {
    vision,
    llm,
    downsampleRatio,
    psVersion,
    selectLayer,
    template: String(c.template ?? 'internvl2_5'),
    forceImageSize: int(c, 'force_image_size', '', vision.imageSize),
    dynamicImageSize: c.dynamic_image_size !== false,
    useThumbnail: c.use_thumbnail !== false,
    minDynamicPatch: int(c, 'min_dynamic_patch', '', 1),
    maxDynamicPatch: int(c, 'max_dynamic_patch', '', 12),
    numImageToken,
    gridSize,
  };
}

export interface GenerationConfig {
  eosTokenIds: number[];
}

export function parseGenerationConfig(raw: unknown, llm: LlmConfig): GenerationConfig {
  const c = (raw ?? {}) as Json;
  const eos = c.eos_token_id ?? llm.eosTokenId;
  const ids = eos == null ? [] : Array.isArray(eos) ? (eos as number[]) : [eos as number];
  return { eosTokenIds: ids };
}
