import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SafetensorsError, TensorInfo, readSafetensorsHeader, readTensorBytes, toF32 } from '@ivl/tensor';
import { GenerationConfig, ModelConfig, parseGenerationConfig, parseModelConfig } from './config';
import { CheckpointError } from './errors';
import { expectedTensors, llmNames } from './tensor-names';

const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CheckpointError(`${what} cannot be read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CheckpointError(`${what} is not valid JSON`);
  }
}

/**
 * A published InternVL2.5 checkpoint directory (config.json, safetensors weights, tokenizer files), validated
 * when opened so that every later failure is about the request, never about a half-usable model.
 */
export class Checkpoint {
  private constructor(
    readonly dir: string,
    readonly config: ModelConfig,
    readonly generation: GenerationConfig,
    readonly rawConfig: Record<string, unknown>,
    readonly tensors: Map<string, TensorInfo>,
    readonly weightFiles: string[],
  ) {}

  /** Weight bytes read through readF32 since the checkpoint was opened (stage-local conversion reports it). */
  bytesRead = 0;

  static open(dirArg: string): Checkpoint {
    const dir = resolve(dirArg);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError(`model directory ${dirArg} does not exist`);
    const cfgPath = join(dir, 'config.json');
    if (!existsSync(cfgPath)) throw new CheckpointError(`${dirArg} has no config.json: not a published InternVL checkpoint directory`);
    const rawConfig = readJson(cfgPath, 'config.json') as Record<string, unknown>;
    const config = parseModelConfig(rawConfig);
    const genPath = join(dir, 'generation_config.json');
    const generation = parseGenerationConfig(existsSync(genPath) ? readJson(genPath, 'generation_config.json') : {}, config.llm);
    const { tensors, files } = readWeights(dir);
    resolveTiedHead(config, tensors);
    validateTensors(config, tensors);
    checkTokenizerFiles(dir, config);
    return new Checkpoint(dir, config, generation, rawConfig, tensors, files);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new CheckpointError(`missing tensor ${name}`);
    return t;
  }

  /** A tensor widened to fp32 (bf16 widening is exact). */
  readF32(name: string): Float32Array {
    const t = this.info(name);
    this.bytesRead += t.length;
    return toF32(t.dtype, readTensorBytes(t));
  }

  /** The dtype the weights are stored in (the most common one). */
  get storedDType(): string {
    const counts = new Map<string, number>();
    for (const t of this.tensors.values()) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + t.length);
    return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  }

  get totalWeightBytes(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.length;
    return n;
  }

  /**
   * Identifies this exact checkpoint for caching converted bundles: config, every weight file's header, size and
   * modification time, and content samples, so an edited or regenerated checkpoint never reuses a stale bundle.
   */
  fingerprint(): string {
    const h = createHash('sha256');
    h.update(readFileSync(join(this.dir, 'config.json')));
    for (const f of this.weightFiles) {
      const st = statSync(f);
      h.update(`${f}\0${st.size}\0${st.mtimeMs}\0`);
      const fd = openSync(f, 'r');
      try {
        const sample = Buffer.alloc(65536);
        for (const frac of [0, 0.25, 0.5, 0.75]) {
          const pos = Math.floor(st.size * frac);
          const n = readSync(fd, sample, 0, sample.length, pos);
          h.update(sample.subarray(0, n));
        }
        const tail = Math.max(0, st.size - sample.length);
        h.update(sample.subarray(0, readSync(fd, sample, 0, sample.length, tail)));
      } finally {
        closeSync(fd);
      }
    }
    return h.digest('hex').slice(0, 32);
  }
}

function readWeights(dir: string): { tensors: Map<string, TensorInfo>; files: string[] } {
  const tensors = new Map<string, TensorInfo>();
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof SafetensorsError) throw new CheckpointError(e.message);
      throw e;
    }
  };
  if (existsSync(join(dir, INDEX))) {
    const index = readJson(join(dir, INDEX), INDEX) as { weight_map?: Record<string, string>; metadata?: { total_size?: number } };
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new CheckpointError(`${INDEX} has no weight_map`);
    const shards = [...new Set(Object.values(index.weight_map))].sort();
    const headers = new Map<string, ReturnType<typeof readSafetensorsHeader>>();
    for (const s of shards) {
      const p = join(dir, s);
      if (!existsSync(p)) throw new CheckpointError(`shard ${s} named in ${INDEX} is missing`);
      headers.set(s, wrap(() => readSafetensorsHeader(p)));
    }
    let total = 0;
    for (const [name, shard] of Object.entries(index.weight_map)) {
      const t = headers.get(shard)!.tensors.get(name);
      if (!t) throw new CheckpointError(`${INDEX} places ${name} in ${shard}, but that shard does not contain it`);
      tensors.set(name, t);
      total += t.length;
    }
    const declared = index.metadata?.total_size;
    if (typeof declared === 'number' && declared !== total) {
      throw new CheckpointError(`${INDEX} declares total_size ${declared} but its tensors hold ${total} bytes`);
    }
    return { tensors, files: shards.map((s) => join(dir, s)) };
  }
  const single = join(dir, SINGLE);
  if (!existsSync(single)) throw new CheckpointError(`${dir} has no weights: expected ${SINGLE} or ${INDEX} with its shards`);
  const h = wrap(() => readSafetensorsHeader(single));
  return { tensors: h.tensors, files: [single] };
}

/**
 * Qwen2's head is tied exactly when the checkpoint has no lm_head.weight (InternVL2.5-1B publishes either form;
 * family doc §4): the tensors decide, not the config flag.
 */
function resolveTiedHead(config: ModelConfig, tensors: Map<string, TensorInfo>): void {
  if (config.llm.kind !== 'qwen2') return;
  const names = llmNames('qwen2');
  config.llm.tieWordEmbeddings = !tensors.has(names.head) && tensors.has(names.embed);
}

/** A tensor that belongs to a different kind of model than config.json describes, named with what was expected. */
function mixedPartsError(config: ModelConfig, tensors: Map<string, TensorInfo>): string | null {
  const foreign = llmNames(config.llm.kind === 'qwen2' ? 'internlm2' : 'qwen2');
  const own = llmNames(config.llm.kind);
  if (tensors.has(foreign.embed) && !tensors.has(own.embed)) {
    return `config.json's llm_config describes ${config.llm.kind === 'qwen2' ? 'Qwen2' : 'InternLM2'} but the weights hold ${foreign.embed} (expected ${own.embed})`;
  }
  const v = config.vision;
  const first = 'vision_model.encoder.layers.0.';
  if (v.qkNormalization && !tensors.has(`${first}attn.q_norm.weight`)) {
    return `vision_config has qk_normalization true but the weights have no ${first}attn.q_norm.weight`;
  }
  if (!v.qkNormalization && tensors.has(`${first}attn.q_norm.weight`)) {
    return `the weights hold ${first}attn.q_norm.weight but vision_config has no qk_normalization`;
  }
  if (v.normType === 'rms_norm' && tensors.has(`${first}norm1.bias`)) {
    return `the weights hold ${first}norm1.bias but vision_config's norm_type is rms_norm (RMSNorm has no bias)`;
  }
  if (v.normType === 'layer_norm' && tensors.has(`${first}norm1.weight`) && !tensors.has(`${first}norm1.bias`)) {
    return `vision_config's norm_type is layer_norm but the weights have no ${first}norm1.bias (rms_norm weights?)`;
  }
  if (!v.qkvBias && tensors.has(`${first}attn.qkv.bias`)) return `the weights hold ${first}attn.qkv.bias but vision_config has qkv_bias false`;
  return null;
}

function validateTensors(config: ModelConfig, tensors: Map<string, TensorInfo>): void {
  const mixed = mixedPartsError(config, tensors);
  if (mixed) throw new CheckpointError(mixed);
  const missing: string[] = [];
  for (const e of expectedTensors(config)) {
    const t = tensors.get(e.name);
    if (!t) {
      missing.push(`${e.name} [${e.shape.join(', ')}]`);
      continue;
    }
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new CheckpointError(`tensor ${e.name} has shape [${t.shape.join(', ')}], expected [${e.shape.join(', ')}] from config.json`);
    }
    if (t.dtype !== 'BF16' && t.dtype !== 'F16' && t.dtype !== 'F32') {
      throw new CheckpointError(`tensor ${e.name} is stored as ${t.dtype}; weights must be BF16, F16 or F32`);
    }
  }
  if (missing.length) {
    const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
    throw new CheckpointError(`missing tensor${missing.length > 1 ? 's' : ''}: ${missing.slice(0, 5).join(', ')}${more}`);
  }
}

function checkTokenizerFiles(dir: string, config: ModelConfig): void {
  if (existsSync(join(dir, 'tokenizer.json'))) return;
  if (config.llm.kind === 'internlm2') {
    if (!existsSync(join(dir, 'tokenizer.model'))) throw new CheckpointError(`${dir} has no tokenizer: an InternLM2 checkpoint needs tokenizer.model (sentencepiece) or tokenizer.json`);
    return;
  }
  const need = ['vocab.json', 'merges.txt'].filter((f) => !existsSync(join(dir, f)));
  if (need.length) throw new CheckpointError(`${dir} has no tokenizer: expected tokenizer.json, or vocab.json + merges.txt (missing ${need.join(', ')})`);
}
