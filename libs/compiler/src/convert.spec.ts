import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Checkpoint } from '@ivl/checkpoint';
import { freshCacheDir, tinyCheckpoint } from '@ivl/test-support';
import { ensureBundle } from './bundle-cache';
import { convertCheckpoint } from './convert';
import { ensureGraph } from './graph-files';

describe('bundles', () => {
  it('a conversion that fails half way leaves nothing a later run would trust', () => {
    const src = join(mkdtempSync(join(tmpdir(), 'conv-')), 'model');
    cpSync(tinyCheckpoint('tiny-mha'), src, { recursive: true });
    const ckpt = Checkpoint.open(src);
    // The file breaks after validation, so reading its last tensors fails mid-conversion.
    truncateSync(join(src, 'model.safetensors'), Math.floor(statSync(join(src, 'model.safetensors')).size * 0.6));
    const out = join(mkdtempSync(join(tmpdir(), 'bundle-')), 'b');
    expect(() => convertCheckpoint(ckpt, { dtype: 'int4', out })).toThrow(/ends early|truncated/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(out, '..'))).toEqual([]);
  });

  it('converts once into the cache and reuses it; graphs for new ranges cost no weight copies', () => {
    const cache = freshCacheDir('bundles');
    const model = tinyCheckpoint('tiny');
    const first = ensureBundle(model, { dtype: 'int8', cacheDir: cache });
    expect(first.converted).toBe(true);
    const again = ensureBundle(model, { dtype: 'int8', cacheDir: cache });
    expect(again).toMatchObject({ dir: first.dir, converted: false });
    const weights = readdirSync(join(first.dir, 'weights')).map((f) => statSync(join(first.dir, 'weights', f)).size).reduce((a, b) => a + b, 0);
    const graph = ensureGraph(first.dir, first.manifest, { kind: 'layers', from: 3, to: 9 });
    expect(statSync(graph).size).toBeLessThan(200_000);
    expect(readdirSync(join(first.dir, 'weights')).map((f) => statSync(join(first.dir, 'weights', f)).size).reduce((a, b) => a + b, 0)).toBe(weights);
    expect(() => ensureBundle(first.dir, { dtype: 'fp32' })).toThrow(/is a int8 bundle; it cannot serve --dtype fp32/);
  });
});
