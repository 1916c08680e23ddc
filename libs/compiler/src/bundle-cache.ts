import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Checkpoint } from '@ivl/checkpoint';
import { convertCheckpoint } from './convert';
import { BundleManifest, WeightFormat, isBundleDir, readManifest } from './manifest';

export interface EnsureBundleOptions {
  dtype: WeightFormat;
  cacheDir?: string;
  blockSize?: number;
  onProgress?: (doneBytes: number, totalBytes: number, what: string) => void;
}

export function defaultCacheDir(): string {
  return process.env.IVL_CACHE_DIR ?? join(homedir(), '.cache', 'ivl');
}

/**
 * Resolves the model argument of any command to a bundle: a bundle directory is used as it is; a published
 * checkpoint directory is converted once into the cache (keyed by the checkpoint's fingerprint, the dtype and the
 * block size) and reused afterwards.
 */
export function ensureBundle(modelDir: string, opts: EnsureBundleOptions): { dir: string; manifest: BundleManifest; converted: boolean } {
  const dir = resolve(modelDir);
  if (isBundleDir(dir)) {
    const manifest = readManifest(dir);
    if (manifest.dtype !== opts.dtype) {
      throw new Error(`${modelDir} is a ${manifest.dtype} bundle; it cannot serve --dtype ${opts.dtype} (convert the checkpoint instead)`);
    }
    return { dir, manifest, converted: false };
  }
  const ckpt = Checkpoint.open(dir);
  const block = opts.blockSize ?? 32;
  const key = `${ckpt.fingerprint()}-${opts.dtype}${opts.dtype.startsWith('int') ? `-b${block}` : ''}`;
  const out = join(opts.cacheDir ?? defaultCacheDir(), 'bundles', key);
  if (isBundleDir(out)) return { dir: out, manifest: readManifest(out), converted: false };
  const manifest = convertCheckpoint(ckpt, { dtype: opts.dtype, out, blockSize: block, force: existsSync(out), onProgress: opts.onProgress });
  return { dir: out, manifest, converted: true };
}
