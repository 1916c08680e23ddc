import { afterAll, describe, expect, it } from 'vitest';
import { ensureBundle } from '@ivl/compiler';
import { Rng } from '@ivl/tensor';
import { freshCacheDir, tinyCheckpoint } from '@ivl/test-support';
import { StageModelClient } from './thread/stage-model-client';
import { TileEmbeddingCache } from './tile-embedding-cache';

describe('TileEmbeddingCache', () => {
  it('evicts the least recently used tiles beyond its byte budget', () => {
    const c = new TileEmbeddingCache(3 * 16);
    const rows = () => new Float32Array(4); // 16 bytes
    c.set('a', rows());
    c.set('b', rows());
    c.set('c', rows());
    expect(c.get('a')).toBeDefined(); // a is now the most recent
    c.set('d', rows());
    expect([c.get('b'), c.count, c.bytes]).toEqual([undefined, 3, 48]);
    expect(c.get('a')).toBeDefined();
    expect([c.hits, c.misses]).toEqual([2, 1]);
  });

  it('keys tiles by their pixels: equal pixels hit, one changed value misses', () => {
    const px = new Rng(1).fillNormal(new Float32Array(3 * 8 * 8));
    const same = px.slice();
    const other = px.slice();
    other[17] += 1e-6;
    expect(TileEmbeddingCache.key(same)).toBe(TileEmbeddingCache.key(px));
    expect(TileEmbeddingCache.key(other)).not.toBe(TileEmbeddingCache.key(px));
  });
});

describe('vision through the stage thread with the tile cache', () => {
  let client: StageModelClient | undefined;
  afterAll(async () => client?.close());

  it('a repeated image costs no vision pass and gives the same rows; a different image is computed', async () => {
    const { dir, manifest } = ensureBundle(tinyCheckpoint('tiny'), { dtype: 'fp32', cacheDir: freshCacheDir('tilecache') });
    const started = await StageModelClient.start({ bundleDir: dir, ranges: [[0, manifest.config.llm.numLayers]], head: true, imageTokenId: 151667, session: { threads: 1 }, kvBudgetBytes: 2 ** 24 });
    client = started.client;
    const S = manifest.config.vision.imageSize;
    const rng = new Rng(3);
    const img = rng.fillNormal(new Float32Array(2 * 3 * S * S));
    const uncached = await client.vision(img.slice(), 2);
    client.visionCache = new TileEmbeddingCache(64 * 2 ** 20);
    const first = await client.vision(img.slice(), 2);
    const again = await client.vision(img.slice(), 2);
    expect(Array.from(first)).toEqual(Array.from(uncached));
    expect(Array.from(again)).toEqual(Array.from(uncached));
    expect([client.visionCache.misses, client.visionCache.hits]).toEqual([2, 2]);
    // A new image that shares its first tile: that tile hits, the other is computed.
    const mixed = img.slice();
    mixed.set(rng.fillNormal(new Float32Array(3 * S * S)), 3 * S * S);
    const m = await client.vision(mixed, 2);
    expect([client.visionCache.misses, client.visionCache.hits]).toEqual([3, 3]);
    const half = m.length / 2;
    expect(Array.from(m.subarray(0, half))).toEqual(Array.from(first.subarray(0, half)));
    expect(Array.from(m.subarray(half))).not.toEqual(Array.from(first.subarray(half)));
  });
});
