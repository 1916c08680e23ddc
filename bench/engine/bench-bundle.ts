import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeModel } from '@ivl/checkpoint';
import { BundleManifest, ensureBundle, readManifest } from '@ivl/compiler';

/**
 * The int4 bundle the engine benchmarks run on: IVL_BENCH_BUNDLE when given (a bundle dir), else converted (and
 * cached under IVL_CACHE_DIR) from IVL_BENCH_MODEL, else from `models/<preset>`, generated with random weights at
 * the preset's dimensions if it is not there.
 */
export function benchBundle(preset = '4b'): { dir: string; manifest: BundleManifest } {
  if (process.env.IVL_BENCH_BUNDLE) return { dir: process.env.IVL_BENCH_BUNDLE, manifest: readManifest(process.env.IVL_BENCH_BUNDLE) };
  const root = resolve(__dirname, '..', '..');
  const model = resolve(process.env.IVL_BENCH_MODEL ?? join(root, 'models', preset));
  if (!existsSync(join(model, 'config.json'))) makeModel({ preset, out: model, seed: 1 });
  return ensureBundle(model, { dtype: 'int4' });
}
