import { afterAll, describe, expect, it } from 'vitest';
import IORedis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { testRedisUrl } from '@ivl/test-support';
import { BlobStore } from './blob-store';
import { keys } from './keys';
import { StreamFencedError, TokenStreamWriter, readTokenStream } from './token-stream';

const redis = new IORedis(testRedisUrl());
afterAll(() => redis.quit());

describe('token streams', () => {
  it('a retried attempt sees what was published, and the stalled attempt can no longer append', async () => {
    const job = randomUUID();
    const first = await TokenStreamWriter.claim(redis, job, 'attempt-1');
    expect(first.published).toEqual([]);
    await first.append(0, [10, 11], 'ab');
    await first.append(2, [12], 'c');
    const second = await TokenStreamWriter.claim(redis, job, 'attempt-2');
    expect(second.published).toEqual([10, 11, 12]);
    await expect(first.append(3, [99], 'zz')).rejects.toBeInstanceOf(StreamFencedError);
    await second.append(3, [13], 'd');
    await second.end('stop');
    const events = [];
    for await (const e of readTokenStream(redis.duplicate(), job)) events.push(e);
    expect(events.map((e) => (e.kind === 'tokens' ? e.delta : `<${e.finishReason}>`)).join('')).toBe('abcd<stop>');
    // A reader resuming after the second entry gets the rest and nothing twice.
    const resumed = [];
    for await (const e of readTokenStream(redis.duplicate(), job, events[1].id)) resumed.push(e);
    expect(resumed.map((e) => e.id)).toEqual(events.slice(2).map((e) => e.id));
  });

  it('a resent append (its reply lost to a Redis restart) is written once; a gap or an entry after the end is not', async () => {
    const job = randomUUID();
    const w = await TokenStreamWriter.claim(redis, job, 'attempt-1');
    await w.append(0, [10, 11], 'ab');
    await w.append(0, [10, 11], 'ab');
    await w.append(2, [12], 'c');
    await expect(w.append(5, [15], 'f')).rejects.toThrow(/GAP at 5, stream ends at 3/);
    await w.end('stop');
    await w.append(3, [13], 'd');
    const rows = (await redis.xrange(keys.tokens(job), '-', '+')) as Array<[string, string[]]>;
    expect(rows.map(([, f]) => f[1] + (f[3] ?? ''))).toEqual(['t0', 't2', 'estop']);
    expect((await TokenStreamWriter.claim(redis, job, 'attempt-2')).published).toEqual([10, 11, 12]);
  });

  it('blobs are content-addressed', async () => {
    const store = new BlobStore(redis, 60);
    const a = await store.put(new Uint8Array([1, 2, 3]));
    expect(a).toBe('039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81');
    expect(Array.from(await store.get(a))).toEqual([1, 2, 3]);
    await expect(store.get('00'.repeat(32))).rejects.toThrow(/expired or was never stored/);
  });

  it('a fenced-off queued append is kept as the failure, reported once, never an unhandled rejection', async () => {
    const job = randomUUID();
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    try {
      const stale = await TokenStreamWriter.claim(redis, job, 'attempt-1');
      stale.appendInOrder(0, [1], 'a');
      await stale.flush();
      await TokenStreamWriter.claim(redis, job, 'attempt-2');
      const reported: Error[] = [];
      stale.appendInOrder(1, [2], 'b', undefined, (e) => reported.push(e));
      stale.appendInOrder(2, [3], 'c', undefined, (e) => reported.push(e));
      await expect(stale.flush()).rejects.toBeInstanceOf(StreamFencedError);
      expect(reported).toHaveLength(1);
      expect(stale.failure?.message).toMatch(/no longer owns the token stream/);
      // The same when Redis lost the owner key (a restart without persistence).
      const lostJob = randomUUID();
      const lost = await TokenStreamWriter.claim(redis, lostJob, 'attempt-1');
      await redis.del(keys.streamOwner(lostJob));
      lost.appendInOrder(0, [1], 'a');
      await expect(lost.flush()).rejects.toBeInstanceOf(StreamFencedError);
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('blobs are reference-counted per job and deleted when the last job ends', async () => {
    const store = new BlobStore(redis, 60);
    const bytes = new Uint8Array([9, 8, 7, Math.floor(Math.random() * 255), Math.floor(Math.random() * 255)]);
    const h = await store.put(bytes);
    expect(await store.put(bytes)).toBe(h);
    expect(await store.release([h])).toBe(0);
    expect(Array.from(await store.get(h))).toEqual(Array.from(bytes));
    expect(await store.release([h])).toBe(1);
    expect(await redis.exists(keys.blob(h), keys.blobRefs(h))).toBe(0);
  });
});
