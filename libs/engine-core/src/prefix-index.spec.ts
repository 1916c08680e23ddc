import { describe, expect, it } from 'vitest';
import { TileEmbeddingCache } from '@ivl/runtime';
import { blockHashes, imageRuns } from './prefix-hash';
import { PrefixEntry, PrefixIndex } from './prefix-index';

const B = 4;
const IMG = 9;
const ids = (n: number, base = 100) => Array.from({ length: n }, (_, i) => base + i);
const entry = (seq: string, tokens: number[], o: Partial<PrefixEntry> = {}, runs = imageRuns(tokens, IMG, [])): PrefixEntry => ({
  seq,
  hashes: blockHashes(tokens, runs, B),
  length: tokens.length,
  lastUsed: 0,
  pins: 0,
  live: false,
  ...o,
});
/** A prompt with one image run of 2 tiles × 2 tokens at positions [3, 7), its pixels filled with `pixel`. */
function imagePrompt(pixel: number, tail = ids(6, 500)) {
  const tokens = [1, 2, 3, IMG, IMG, IMG, IMG, ...tail];
  const runs = imageRuns(tokens, IMG, TileEmbeddingCache.tileKeys(new Float32Array(2 * 12).fill(pixel), 2));
  return { tokens, runs };
}

describe('prefix hash chain', () => {
  it('hashes whole blocks only; equal prefixes give equal hashes up to where they differ, and differ from then on', () => {
    const a = blockHashes(ids(10), [], B);
    expect(a).toHaveLength(2);
    const b = blockHashes([...ids(5), 7, ...ids(6, 200)], [], B);
    expect(b[0]).toBe(a[0]);
    expect(b[1]).not.toBe(a[1]); // position 5 differs
    // A chain: the same block after a different prefix hashes differently.
    expect(blockHashes([0, 0, 0, 0, ...ids(4)], [], B)[1]).not.toBe(blockHashes([1, 0, 0, 0, ...ids(4)], [], B)[1]);
  });

  it('salts every block an image overlaps with the image content hash, per run of its tiles', () => {
    const one = imagePrompt(0.5);
    const other = imagePrompt(0.25);
    expect(one.runs).toEqual([{ start: 3, end: 7, hash: expect.any(String) }]);
    expect(one.runs[0].hash).not.toBe(other.runs[0].hash);
    const h1 = blockHashes(one.tokens, one.runs, B);
    const h2 = blockHashes(other.tokens, other.runs, B);
    // Block 0 ([0, 4)) already holds an image token; nothing is shared.
    expect(h1.some((h, i) => h === h2[i])).toBe(false);
    expect(blockHashes(one.tokens, imagePrompt(0.5).runs, B)).toEqual(h1);
    // Two images in one prompt: each run hashes its own tiles (1 tile of 2 tokens each here).
    const two = [IMG, IMG, 5, IMG, IMG];
    const px = new Float32Array(2 * 3).fill(1);
    px.fill(2, 3);
    const runs = imageRuns(two, IMG, TileEmbeddingCache.tileKeys(px, 2));
    expect(runs.map((r) => [r.start, r.end])).toEqual([[0, 2], [3, 5]]);
    expect(runs[0].hash).not.toBe(runs[1].hash);
  });
});

describe('PrefixIndex', () => {
  it('finds the longest whole-block match and always leaves one prompt position to prefill', () => {
    const idx = new PrefixIndex(B);
    idx.add(entry('a', ids(12)));
    const q = [...ids(9), 1, 2, 3, 4];
    expect(idx.match(blockHashes(q, [], B), q.length, [])).toMatchObject({ entry: { seq: 'a' }, length: 8 });
    // The same 12-token prompt again: 3 blocks match, but the last position must run for its logits.
    expect(idx.match(blockHashes(ids(12), [], B), 12, [])?.length).toBe(11);
    expect(idx.match(blockHashes(ids(3), [], B), 3, [])).toBeUndefined();
    expect(idx.match(blockHashes([5, ...ids(11)], [], B), 12, [])).toBeUndefined();
  });

  it('same text with a different image never hits; the same image does', () => {
    const idx = new PrefixIndex(B);
    const first = imagePrompt(0.5);
    idx.add(entry('img', first.tokens, {}, first.runs));
    const other = imagePrompt(0.25);
    expect(idx.match(blockHashes(other.tokens, other.runs, B), other.tokens.length, other.runs)).toBeUndefined();
    const again = imagePrompt(0.5, [...ids(6, 500), 42, 43]);
    expect(idx.match(blockHashes(again.tokens, again.runs, B), again.tokens.length, again.runs)).toMatchObject({ entry: { seq: 'img' }, length: 12 });
  });

  it('never ends a match inside an image: it backs off to the image start', () => {
    const idx = new PrefixIndex(B);
    const first = imagePrompt(0.5);
    idx.add(entry('img', first.tokens, {}, first.runs));
    // Same image at [3, 7), then a different token at 7: only block 0 ([0, 4)) matches, and 4 is inside the image.
    const q = imagePrompt(0.5, [77, ...ids(5, 500)]);
    expect(idx.match(blockHashes(q.tokens, q.runs, B), q.tokens.length, q.runs)).toMatchObject({ entry: { seq: 'img' }, length: 3 });
    // A prompt that ends inside the image's blocks: the one-position rule lands at 5, inside the image, so 3 again.
    expect(idx.match(blockHashes(first.tokens, first.runs, B), 6, first.runs)?.length).toBe(3);
  });

  it('prefers the most recently used among equal matches; evicts least recently used first, never running or pinned ones', () => {
    const idx = new PrefixIndex(B);
    idx.add(entry('old', ids(8), { lastUsed: 1 }));
    idx.add(entry('new', ids(8), { lastUsed: 5 }));
    idx.add(entry('live', ids(8, 300), { lastUsed: 0, live: true }));
    idx.add(entry('pinned', ids(8, 400), { lastUsed: 0, pins: 1 }));
    expect(idx.match(blockHashes(ids(9), [], B), 9, [])?.entry.seq).toBe('new');
    const order: string[] = [];
    for (let e = idx.lru(); e; e = idx.lru()) order.push(idx.remove(e.seq)!.seq);
    expect(order).toEqual(['old', 'new']);
    expect(idx.size).toBe(2);
  });

  it('an entry holding every block of an older one makes it redundant', () => {
    const idx = new PrefixIndex(B);
    const turn1 = entry('t1', ids(9));
    const turn2 = entry('t2', [...ids(9), 7, 7, 7, 7]);
    idx.add(turn1);
    idx.add(turn2);
    expect(idx.dominatedBy(turn2)).toEqual([turn1]);
    expect(idx.dominatedBy(turn1)).toEqual([]);
    expect(idx.dominatedBy(entry('x', ids(12, 900)))).toEqual([]);
  });
});
