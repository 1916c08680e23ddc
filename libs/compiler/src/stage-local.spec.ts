import { describe, expect, it } from 'vitest';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpoint, expectedTensors, makeModel } from '@ivl/checkpoint';
import { cardPlan } from '@ivl/plan';
import { freshCacheDir } from '@ivl/test-support';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ensureBundle } from './bundle-cache';
import { BundleManifest } from './manifest';

function tensorBytes(dir: string, m: BundleManifest, name: string): Buffer {
  const r = m.tensors[name];
  return readFileSync(join(dir, r.file)).subarray(r.offset, r.offset + r.length);
}

describe('stage-local conversion', () => {
  it('each stage of card:4 reads only its own tensors, from its own shards, and converts them as the whole model would', () => {
    const src = join(mkdtempSync(join(tmpdir(), 'stage-local-')), 'model');
    makeModel({ preset: 'tiny-78b', out: src, seed: 5, maxShardBytes: 4_000_000 });
    const ckpt = Checkpoint.open(src);
    const index = JSON.parse(readFileSync(join(src, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    const plan = cardPlan(4, ckpt.config.llm.numLayers);
    const cache = freshCacheDir('stage-local');
    const whole = ensureBundle(src, { dtype: 'int8', cacheDir: freshCacheDir('stage-whole') });

    const stage = plan.stages[2];
    const parts = { vision: stage.vision, embed: stage.embed, head: stage.head, layers: stage.ranges };
    const wanted = expectedTensors(ckpt.config, parts);
    const needed = new Set(wanted.map((t) => index.weight_map[t.name]));
    const shards = new Set(Object.values(index.weight_map));
    expect(needed.size).toBeLessThan(shards.size);
    // Every byte of tensor data in the shards this stage does not need is overwritten: its conversion must not care.
    for (const shard of shards) {
      if (needed.has(shard)) continue;
      const path = join(src, shard);
      const headerEnd = 8 + Number(readFileSync(path).readBigUInt64LE(0));
      const fd = openSync(path, 'r+');
      writeSync(fd, Buffer.alloc(statSync(path).size - headerEnd, 0x7f), 0, statSync(path).size - headerEnd, headerEnd);
      closeSync(fd);
    }
    const s2 = ensureBundle(src, { dtype: 'int8', cacheDir: cache, parts });
    expect(s2.converted).toBe(true);
    expect(s2.dir).toMatch(/-L5-8$/);
    const wantedBytes = wanted.reduce((a, t) => a + ckpt.info(t.name).length, 0);
    expect(s2.manifest.stats.bytesRead).toBe(wantedBytes);
    expect(s2.manifest.stats.bytesWritten).toBeLessThan(whole.manifest.stats.bytesWritten / 3);
    expect(Object.keys(s2.manifest.tensors).some((n) => n.startsWith('vision.') || n === 'llm.head.q' || n === 'llm.embed')).toBe(false);
    for (const name of Object.keys(s2.manifest.tensors)) {
      expect(tensorBytes(s2.dir, s2.manifest, name).equals(tensorBytes(whole.dir, whole.manifest, name)), name).toBe(true);
    }
    expect(s2.manifest.parts).toEqual(parts);
  });

  it('stage 0 holds vision, embeddings, head and its two ranges; a whole bundle in the cache is reused instead', () => {
    const src = join(mkdtempSync(join(tmpdir(), 'stage-local0-')), 'model');
    makeModel({ preset: 'tiny-26b', out: src, seed: 2 });
    const ckpt = Checkpoint.open(src);
    const s0 = cardPlan(4, ckpt.config.llm.numLayers).stages[0];
    const cache = freshCacheDir('stage-local0');
    const parts = { vision: true, embed: true, head: true, layers: s0.ranges };
    const b = ensureBundle(src, { dtype: 'fp16', cacheDir: cache, parts });
    expect(b.dir).toMatch(/-veh-L0-2\+11-12$/);
    expect(Object.keys(b.manifest.tensors)).toEqual(expect.arrayContaining(['vision.0.q_norm.w', 'llm.embed', 'llm.head.weight', 'llm.0.qkv.weight', 'llm.11.down.weight']));
    expect(b.manifest.tensors['llm.5.qkv.weight']).toBeUndefined();
    const whole = ensureBundle(src, { dtype: 'fp16', cacheDir: cache });
    expect(ensureBundle(src, { dtype: 'fp16', cacheDir: cache, parts: { vision: false, embed: false, head: false, layers: [[2, 5]] } })).toMatchObject({ dir: whole.dir, converted: false });
  });
});
