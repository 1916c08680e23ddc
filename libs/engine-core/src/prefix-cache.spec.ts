import { beforeAll, describe, expect, it } from 'vitest';
import { IvlTokenizer, loadTokenizer } from '@ivl/prompt';
import { tinyCheckpoint } from '@ivl/test-support';
import { Admission } from './admission';
import { PrefixCache } from './prefix-cache';
import { Scheduler } from './scheduler';
import { Sequence } from './sequence';
import { FakeRing, V, fakeSeq } from './testing/fake-ring';

let tok: IvlTokenizer;
beforeAll(async () => {
  tok = await loadTokenizer(tinyCheckpoint('tiny'));
});

const ids = (n: number, base = 100) => Array.from({ length: n }, (_, i) => base + i);

/** A scheduler wired to a prefix cache of 4-token blocks as the driver wires it; `released` lists freed KV. */
function setup(capacity = 100_000) {
  let clock = 0;
  const ring = new FakeRing();
  const admission = new Admission(capacity);
  const released: string[] = [];
  const cache = new PrefixCache({ admission, release: (s) => released.push(...s), blockSize: 4, now: () => ++clock });
  const sched = new Scheduler(ring, {
    maxInFlight: 1,
    maxBatch: 8,
    prefillChunk: 64,
    vocab: V,
    prefix: cache,
    onRelease: (q) => {
      if (!cache.retain(q)) released.push(q.id);
    },
    onBatchFailed: () => cache.clear(),
  });
  /** Looks the prompt up, admits it (evicting cached prefixes for room) and starts it, as the job processor does. */
  const start = (id: string, prompt: number[], maxNew: number): Sequence => {
    const q = fakeSeq(tok, id, prompt.length, maxNew, 0, prompt);
    q.prefix = cache.lookup(q.ids, []);
    const reserve = prompt.length + maxNew;
    if (!cache.makeRoom(reserve) || !admission.tryAcquire(reserve)) throw new Error(`no room for ${id}`);
    void q.done.then(
      () => admission.release(reserve),
      () => admission.release(reserve),
    );
    sched.add(q);
    return q;
  };
  const drain = async () => {
    while (ring.inFlight) await ring.step();
  };
  return { ring, admission, released, cache, sched, start, drain };
}

describe('prefix cache with the scheduler', () => {
  it('a finished sequence stays cached; a matching prompt starts from it: its first chunk starts at L and names the source', async () => {
    const t = setup();
    const a = t.start('a', ids(10), 3);
    await t.drain();
    expect(a.state).toBe('done');
    // Prompt and generated tokens but the last (never fed): 10 + 2 positions, 3 whole blocks; nothing released.
    expect(t.released).toEqual([]);
    expect(t.cache.index.get('a')).toMatchObject({ length: 12, live: false });
    expect(t.admission.cachedPrefixes).toBe(1);
    const b = t.start('b', [...ids(10), 5, 6, 7], 2);
    // Blocks [100..103] and [104..107] match; the third differs (108, 109, 5, 6 against 108, 109, 1000, 1000).
    expect(b.cachedTokens).toBe(8);
    expect(t.ring.batches.at(-1)!.spans).toEqual([{ seq: 'b', start: 8, length: 5, from: 'a' }]);
    expect(t.ring.batches.at(-1)!.ids).toEqual([108, 109, 5, 6, 7]);
    expect(t.cache.index.get('a')!.pins).toBe(1); // may not be evicted while the fork's first chunk runs
    expect(t.cache.index.lru()).toBeUndefined();
    const fork = t.ring.batches.length;
    await t.ring.step();
    expect(t.cache.index.get('a')!.pins).toBe(0);
    // Later steps of the fork carry no source.
    await t.drain();
    expect(t.ring.batches.length).toBeGreaterThan(fork);
    expect(t.ring.batches.slice(fork).flatMap((x) => x.spans).every((sp) => sp.from === undefined)).toBe(true);
    expect(b.decoder.tokens).toEqual([1000, 1000]);
    expect(t.cache.queriedTokens).toBe(10 + 13);
    expect(t.cache.hitTokens).toBe(8);
  });

  it('cached prefixes are evicted least recently used first when admission needs their room', async () => {
    // Room for 3 slots of 16 positions.
    const t = setup(48);
    for (const [i, id] of ['p', 'q', 'r'].entries()) {
      t.start(id, ids(12, 1000 * (i + 1)), 4);
      await t.drain();
    }
    expect(t.admission.cachedPrefixes).toBe(3);
    // A hit refreshes 'p': it is now the most recently used. The new prompt forks from it, and the two others go.
    const next = t.start('s', [...ids(12, 1000), 1, 2, 3], 1);
    expect(next.cachedTokens).toBe(12);
    expect(t.released).toEqual(['q']); // 3 cached + 1 new of ≤ 16 = 64 > 48: one had to go, the oldest unused
    await t.drain();
    // 's' holds every block 'p' held: 'p' is redundant and goes too.
    expect(t.released).toEqual(['q', 'p']);
    t.start('u', ids(12, 7000), 4); // 2 cached + 1 running fit
    expect(t.released).toEqual(['q', 'p']);
    t.start('w', ids(12, 8000), 4); // 2 cached + 2 running do not: the older cached one ('r') goes
    expect(t.released).toEqual(['q', 'p', 'r']);
    expect(t.admission.reserved).toBeLessThanOrEqual(48);
  });

  it('the second choice of a request forks from the first once its prompt is prefilled, while the first still runs', async () => {
    const t = setup();
    const first = t.start('c0', ids(10), 5);
    await t.ring.step(); // the prompt is prefilled: c0 is now a live entry
    expect(t.cache.index.get('c0')).toMatchObject({ live: true, length: 10 });
    const second = t.start('c1', ids(10), 5);
    expect(second.cachedTokens).toBe(8);
    await t.ring.step(); // c0's decode step that was already in flight
    const b = t.ring.batches.at(-1)!;
    expect(b.spans).toEqual([
      { seq: 'c0', start: 11, length: 1 },
      { seq: 'c1', start: 8, length: 2, from: 'c0' },
    ]);
    await t.drain();
    expect(first.decoder.tokens).toHaveLength(5);
    // Both end cached (the fake ring gave them different tokens, so neither holds all the other's blocks).
    expect(t.released).toEqual([]);
    expect([t.cache.index.get('c0'), t.cache.index.get('c1')]).toMatchObject([{ live: false, length: 14 }, { live: false, length: 14 }]);
  });

  it('a failed fork is not kept, and a failed batch clears the cache (a stage may have lost its KV)', async () => {
    const t = setup();
    t.start('a', ids(10), 2);
    await t.drain();
    const b = t.start('b', ids(11), 2);
    expect(b.cachedTokens).toBe(8);
    await t.ring.fail(new Error('stage 1: unknown prefix source a'));
    expect(b.state).toBe('done');
    expect(t.released.sort()).toEqual(['a', 'b']);
    expect(t.cache.index.size).toBe(0);
    expect(t.admission.cachedPrefixes).toBe(0);
  });
});
