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
  /** layer_norm (InternViT-300M: LayerNorm with bias) or rms_norm (InternViT-6B: RMSNorm, weight only). */
  normType: 'layer_norm' | 'rms_norm';
  /** InternViT-6B: one RMSNorm across the full width of q and one of k, before the split into heads. */
  qkNormalization: boolean;
}

/** Which decoder family the language model is; it decides tensor names, biases and the tokenizer. */
export type LlmKind = 'qwen2' | 'internlm2';

/** Dynamic NTK rope (InternLM2): identical to plain rope up to max_position_embeddings. */
export interface RopeScaling {
  type: 'dynamic';
  factor: number;
}

export interface LlmConfig {
  kind: LlmKind;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  /** Qwen2: q/k/v carry biases. InternLM2: no biases anywhere. */
  attentionBias: boolean;
  vocabSize: number;
  maxPositionEmbeddings: number;
  /**
   * The head reuses the embedding table. Read from the checkpoint's tensors when it is opened (Qwen2: tied when
   * there is no lm_head.weight); InternLM2 always has its own `output.weight`.
   */
  tieWordEmbeddings: boolean;
  /** InternLM2 starts every prompt with BOS (add_bos_token); InternVL's Qwen2 tokenizers have none. */
  addBos: boolean;
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
  /** Id of `<IMG_CONTEXT>`, where image features replace embeddings: 151667 (Qwen2 sizes), 92546 (InternLM2). */
  imageContextTokenId: number;
}

export const SUPPORTED =
  'InternVLChatModel (InternVL2.5-1B to 78B) with an InternViT vision encoder (InternViT-300M: norm_type layer_norm; ' +
  'InternViT-6B: norm_type rms_norm with qk_normalization; ps_version v2 or v1, downsample_ratio 0.5) and a ' +
  'Qwen2ForCausalLM or InternLM2ForCausalLM language model';

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
  const kind: LlmKind | null =
    llmArch === 'Qwen2ForCausalLM' || l.model_type === 'qwen2' ? 'qwen2' : llmArch === 'InternLM2ForCausalLM' || l.model_type === 'internlm2' ? 'internlm2' : null;
  if (!kind) unsupported(`language model ${llmArch}`);
  // The class default of InternVisionConfig is rms_norm; published 300M configs say layer_norm explicitly.
  const normType = (v.norm_type ?? 'rms_norm') as string;
  if (normType !== 'layer_norm' && normType !== 'rms_norm') unsupported(`vision norm_type ${normType}`);
  if ((v.hidden_act ?? 'gelu') !== 'gelu') unsupported(`vision hidden_act ${String(v.hidden_act)}`);
  if ((l.hidden_act ?? 'silu') !== 'silu') unsupported(`llm hidden_act ${String(l.hidden_act)}`);
  if (l.use_sliding_window === true) unsupported('llm use_sliding_window');
  const ropeScaling = parseRopeScaling(l.rope_scaling, kind);
  if (kind === 'internlm2' && l.bias === true) unsupported('InternLM2 with bias true (published InternLM2 has no biases)');
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
    normType,
    qkNormalization: v.qk_normalization === true,
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
    kind,
    hiddenSize,
    numLayers: int(l, 'num_hidden_layers', 'llm_config.'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: int(l, 'intermediate_size', 'llm_config.'),
    rmsNormEps: num(l, 'rms_norm_eps', 'llm_config.', kind === 'internlm2' ? 1e-5 : 1e-6),
    ropeTheta: num(l, 'rope_theta', 'llm_config.', 10000),
    ropeScaling,
    attentionBias: kind === 'qwen2',
    vocabSize: int(l, 'vocab_size', 'llm_config.'),
    maxPositionEmbeddings: int(l, 'max_position_embeddings', 'llm_config.', 32768),
    // InternVL forces an untied head unless the checkpoint says otherwise explicitly.
    tieWordEmbeddings: kind === 'qwen2' && l.tie_word_embeddings === true,
    addBos: kind === 'internlm2',
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
    imageContextTokenId: kind === 'internlm2' ? 92546 : 151667,
  };
}

function parseRopeScaling(raw: unknown, kind: LlmKind): RopeScaling | null {
  if (raw == null) return null;
  const r = raw as Json;
  const type = r.type ?? r.rope_type;
  // Dynamic NTK only moves the base beyond max_position_embeddings, and the context limit is that length, so
  // every position served uses the configured base (docs/deployment.md, "Context length").
  if (kind === 'internlm2' && type === 'dynamic' && typeof r.factor === 'number' && r.factor >= 1) return { type: 'dynamic', factor: r.factor };
  unsupported(`llm rope_scaling ${JSON.stringify(raw)}`);
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
