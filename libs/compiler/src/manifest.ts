import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GenerationConfig, ModelConfig, ModelParts } from '@ivl/checkpoint';
import type { ElemType } from '@ivl/onnx-graph';

/** 3: InternViT-6B and InternLM2 tensors, and stage-local bundles that hold only some parts. */
export const BUNDLE_FORMAT = 'ivl-bundle/3';

/** Weight formats a bundle can hold. bf16 checkpoints are widened: the CPU runtime has no bf16 kernels. */
export type WeightFormat = 'fp32' | 'fp16' | 'int8' | 'int4';
export const WEIGHT_FORMATS: WeightFormat[] = ['fp32', 'fp16', 'int8', 'int4'];

export interface QuantInfo {
  bits: 4 | 8;
  blockSize: number;
  /** Input features (K) and output features (N) of the linear layer. */
  K: number;
  N: number;
}

/** A tensor stored in one of the bundle's weight files. */
export interface TensorRef {
  file: string;
  offset: number;
  length: number;
  type: ElemType;
  dims: number[];
  /** Present on the packed uint8 blocks of a MatMulNBits weight; its scales are `<name>.scales`. */
  quant?: QuantInfo;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  dtype: WeightFormat;
  /** Element type of activations, KV cache and hidden states exchanged between stages. */
  activationType: 'float32' | 'float16';
  source: { dir: string; fingerprint: string };
  config: ModelConfig;
  generation: GenerationConfig;
  tensors: Record<string, TensorRef>;
  /** The parts this bundle holds: the whole model, or one stage's share (stage-local conversion). */
  parts: ModelParts;
  /** Checkpoint bytes read and bundle bytes written by the conversion. */
  stats: { bytesRead: number; bytesWritten: number };
  createdAt: string;
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

export function isBundleDir(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json'));
}

export function readManifest(dir: string): BundleManifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new BundleError(`${dir} is not a model bundle (no manifest.json)`);
  let m: BundleManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new BundleError(`${path} is not valid JSON`);
  }
  if (m.format !== BUNDLE_FORMAT) throw new BundleError(`${dir}: unknown bundle format ${String(m.format)} (expected ${BUNDLE_FORMAT})`);
  return m;
}

export function activationTypeFor(format: WeightFormat): 'float32' | 'float16' {
  return format === 'fp16' ? 'float16' : 'float32';
}

/**
 * Default quantisation block along K: 128 for int4 (the group size AWQ/GPTQ checkpoints use; measured about 15%
 * faster per decode step than 32 here, with fewer scale bytes), 32 for int8 (already near its bandwidth floor).
 */
export function defaultBlockSize(format: WeightFormat): number {
  return format === 'int4' ? 128 : 32;
}
