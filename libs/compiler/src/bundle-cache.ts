import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Checkpoint, ModelParts } from '@ivl/checkpoint';
import { convertCheckpoint } from './convert';
import { BUNDLE_FORMAT, BundleManifest, WeightFormat, defaultBlockSize, isBundleDir, readManifest } from './manifest';

export interface EnsureBundleOptions {
  dtype: WeightFormat;
  cacheDir?: string;
  blockSize?: number;
  /**
   * Convert only these parts (stage-local: one stage's layers, plus vision, embeddings and head on stage 0). A
   * whole-model bundle already in the cache is used instead when there is one.
   */
  parts?: ModelParts;
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
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  return reuseOrConvert(ckpt, cachedBundlePath(ckpt, opts, cacheDir), opts, cacheDir);
}

function reuseOrConvert(ckpt: Checkpoint, out: string, opts: EnsureBundleOptions, cacheDir: string): { dir: string; manifest: BundleManifest; converted: boolean } {
  if (isBundleDir(out)) return { dir: out, manifest: readManifest(out), converted: false };
  const whole = cachedBundlePath(ckpt, { ...opts, parts: undefined }, cacheDir);
  if (opts.parts && isBundleDir(whole)) return { dir: whole, manifest: readManifest(whole), converted: false };
  const manifest = convertCheckpoint(ckpt, { dtype: opts.dtype, out, blockSize: opts.blockSize ?? defaultBlockSize(opts.dtype), force: existsSync(out), onProgress: opts.onProgress, parts: opts.parts });
  return { dir: out, manifest, converted: true };
}

/**
 * ensureBundle for several processes at once (the stages of a local cluster, pods sharing a volume): one converts
 * under a lock file, the others wait for its manifest instead of converting the same checkpoint again.
 */
export async function ensureBundleLocked(modelDir: string, opts: EnsureBundleOptions & { staleLockMs?: number }): Promise<{ dir: string; manifest: BundleManifest; converted: boolean }> {
  const dir = resolve(modelDir);
  if (isBundleDir(dir)) return ensureBundle(dir, opts);
  // The checkpoint is opened (validated, fingerprinted) once; waiting only checks for the finished manifest.
  const ckpt = Checkpoint.open(dir);
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const out = cachedBundlePath(ckpt, opts, cacheDir);
  const whole = cachedBundlePath(ckpt, { ...opts, parts: undefined }, cacheDir);
  const lock = `${out}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  const stale = opts.staleLockMs ?? 30 * 60_000;
  for (;;) {
    if (isBundleDir(out)) return { dir: out, manifest: readManifest(out), converted: false };
    if (opts.parts && isBundleDir(whole)) return { dir: whole, manifest: readManifest(whole), converted: false };
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `${process.pid}@${hostname()}`);
      closeSync(fd);
      try {
        return reuseOrConvert(ckpt, out, opts, cacheDir);
      } finally {
        rmSync(lock, { force: true });
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    try {
      if (Date.now() - statSync(lock).mtimeMs > stale) rmSync(lock, { force: true });
    } catch {
      /* released meanwhile */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Where the converted bundle of this checkpoint, dtype and block size lives in the cache. */
export function cachedBundlePath(ckpt: Checkpoint, opts: EnsureBundleOptions, cacheDir: string): string {
  const block = opts.blockSize ?? defaultBlockSize(opts.dtype);
  // The bundle format is part of the path: a cache written by an older version is never mistaken for a current one.
  const format = BUNDLE_FORMAT.split('/')[1];
  const parts = opts.parts && !holdsEverything(ckpt, opts.parts) ? `-${partsKey(opts.parts)}` : '';
  return join(cacheDir, 'bundles', `v${format}`, `${ckpt.fingerprint()}-${opts.dtype}${opts.dtype.startsWith('int') ? `-b${block}` : ''}${parts}`);
}

function holdsEverything(ckpt: Checkpoint, p: ModelParts): boolean {
  const L = ckpt.config.llm.numLayers;
  const held = new Set<number>();
  for (const [a, b] of p.layers) for (let i = a; i < b; i++) held.add(i);
  return p.vision && p.embed && p.head && held.size === L;
}

/** A readable cache-path suffix for a stage's parts, e.g. `veh-L0-6+79-80` or `L6-17`. */
export function partsKey(p: ModelParts): string {
  const flags = `${p.vision ? 'v' : ''}${p.embed ? 'e' : ''}${p.head ? 'h' : ''}`;
  const layers = p.layers.filter(([a, b]) => b > a).map(([a, b]) => `${a}-${b}`).join('+');
  return `${flags}${flags ? '-' : ''}L${layers || 'none'}`;
}
