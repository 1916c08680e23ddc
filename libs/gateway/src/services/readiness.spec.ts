import IORedis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testRedisUrl, uniquePrefix } from '@ivl/test-support';
import { PipelineReadiness } from './readiness';

const redis = new IORedis(testRedisUrl());
afterAll(() => redis.quit());

describe('pipeline readiness', () => {
  it('keeps admitting work for the grace period after the last ready pipeline, then refuses', async () => {
    const key = `${uniquePrefix('ready')}:pipelines`;
    const r = new PipelineReadiness(redis, key);
    try {
      expect(await r.admits(2000)).toBe(false); // never seen a pipeline: 503 at once
      await redis.hset(key, 'p1', JSON.stringify({ id: 'p1', ready: true, updatedAt: Date.now() }));
      await new Promise((res) => setTimeout(res, 600)); // past the half-second cache
      expect(await r.admits(2000)).toBe(true);
      // A stage restarts: stage 0 announces not ready; within the grace the queue still takes work.
      await redis.hset(key, 'p1', JSON.stringify({ id: 'p1', ready: false, updatedAt: Date.now() }));
      await new Promise((res) => setTimeout(res, 600));
      expect(await r.anyReady()).toBe(false);
      expect(await r.admits(2000)).toBe(true);
      expect(await r.admits(100)).toBe(false);
      // A gateway started meanwhile sees a stale ready announcement of a pipeline that was ready recently.
      await redis.hset(key, 'p1', JSON.stringify({ id: 'p1', ready: true, updatedAt: Date.now() - 8000 }));
      const fresh = new PipelineReadiness(redis, key);
      expect(await fresh.anyReady()).toBe(false);
      expect(await fresh.admits(10_000)).toBe(true);
      expect(await fresh.admits(5000)).toBe(false);
    } finally {
      await redis.del(key);
    }
  });
});
