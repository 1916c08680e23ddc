import { mkdirSync, existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname, basename } from 'node:path';
import { DType, Rng, SafetensorsWriter, DTYPE_BYTES, numel, fromF32 } from '@ivl/tensor';
import { writeInternLm2TokenizerFiles, writeTokenizerFiles } from '@ivl/prompt';
import { parseModelConfig } from '../config';
import { expectedTensors } from '../tensor-names';
import { CheckpointError } from '../errors';
import { initFor } from './init-recipe';
import { INTERNLM2_GENERATION_CONFIG, ModelDims, PRESETS, PUBLISHED_GENERATION_CONFIG, publishedConfig } from './presets';

export interface MakeModelOptions {
  preset: string;
  out: string;
  seed?: number;
  dtype?: 'bf16' | 'fp16' | 'fp32';
  /** Largest shard in bytes; a checkpoint larger than this is split with model.safetensors.index.json. */
  maxShardBytes?: number;
  /** Deep-merged into the preset's config.json (e.g. `{ llm_config: { num_hidden_layers: 6 } }`). */
  configOverrides?: Record<string, unknown>;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

const DTYPES: Record<string, { st: DType; torch: 'bfloat16' | 'float16' | 'float32' }> = {
  bf16: { st: 'BF16', torch: 'bfloat16' },
  fp16: { st: 'F16', torch: 'float16' },
  fp32: { st: 'F32', torch: 'float32' },
};

const CHUNK = 1 << 22;

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' ? deepMerge(a[k] as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/**
 * Writes a random-weight checkpoint in exactly the published InternVL2.5 layout: config.json,
 * generation_config.json, model.safetensors (or shards with an index) and the tokenizer files. The directory
 * appears complete or not at all.
 */
export function makeModel(opts: MakeModelOptions): { dir: string; bytes: number } {
  const dims: ModelDims | undefined = PRESETS[opts.preset];
  if (!dims) throw new CheckpointError(`unknown preset ${opts.preset}; choose one of ${Object.keys(PRESETS).join(', ')}`);
  const dt = DTYPES[opts.dtype ?? 'bf16'];
  if (!dt) throw new CheckpointError(`unknown dtype ${opts.dtype}; choose bf16, fp16 or fp32`);
  let raw = publishedConfig(dims, dt.torch);
  if (opts.configOverrides) raw = deepMerge(raw, opts.configOverrides);
  const config = parseModelConfig(raw);
  const tensors = expectedTensors(config);
  const out = resolve(opts.out);
  if (existsSync(out) && readdirSync(out).length) throw new CheckpointError(`${opts.out} exists and is not empty`);
  mkdirSync(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const sizeOf = (t: { shape: number[] }) => numel(t.shape) * DTYPE_BYTES[dt.st];
    const total = tensors.reduce((a, t) => a + sizeOf(t), 0);
    const maxShard = opts.maxShardBytes ?? 5e9;
    const shards: (typeof tensors)[] = [[]];
    let cur = 0;
    for (const t of tensors) {
      if (cur > 0 && cur + sizeOf(t) > maxShard) {
        shards.push([]);
        cur = 0;
      }
      shards[shards.length - 1].push(t);
      cur += sizeOf(t);
    }
    const names = shards.length === 1 ? ['model.safetensors'] : shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    const rng = new Rng(opts.seed ?? 0);
    let done = 0;
    const buf = new Float32Array(CHUNK);
    shards.forEach((group, si) => {
      const w = new SafetensorsWriter(join(tmp, names[si]), group.map((t) => ({ name: t.name, dtype: dt.st, shape: t.shape })), { format: 'pt' });
      try {
        for (const t of group) {
          const spec = initFor(t.name, t.shape, config);
          const half = spec.std * Math.sqrt(3);
          let left = numel(t.shape);
          while (left > 0) {
            const n = Math.min(left, CHUNK);
            const part = buf.subarray(0, n);
            rng.fillUniform(part, spec.mean - half, spec.mean + half);
            w.writeChunk(t.name, fromF32(dt.st, part));
            left -= n;
            done += n * DTYPE_BYTES[dt.st];
          }
          opts.onProgress?.(done, total);
        }
        w.close();
      } catch (e) {
        w.abort();
        throw e;
      }
    });
    if (shards.length > 1) {
      const weightMap: Record<string, string> = {};
      shards.forEach((g, si) => g.forEach((t) => (weightMap[t.name] = names[si])));
      const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
      writeFileSync(join(tmp, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: sorted }, null, 2) + '\n');
    }
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(raw, null, 2) + '\n');
    const internLm2 = config.llm.kind === 'internlm2';
    writeFileSync(join(tmp, 'generation_config.json'), JSON.stringify(internLm2 ? INTERNLM2_GENERATION_CONFIG : PUBLISHED_GENERATION_CONFIG, null, 2) + '\n');
    if (internLm2) writeInternLm2TokenizerFiles(tmp);
    else writeTokenizerFiles(tmp);
    if (existsSync(out)) rmSync(out, { recursive: true });
    renameSync(tmp, out);
    return { dir: out, bytes: total };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

