import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerateClient, GenerateJobResult } from '@ivl/queue';
import { testRedisUrl, tinyCheckpoint, uniquePrefix } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';

/**
 * Intake from admission: a pipeline whose KV budget holds two of these answers at once takes two jobs and leaves
 * the rest in BullMQ's wait list (not inside the worker), so a second replica that starts later takes them.
 */
describe('jobs wait in the queue until admission can start them', () => {
  const model = tinyCheckpoint('tiny');
  const queuePrefix = uniquePrefix('intake');
  let a: TestCluster;
  let b: TestCluster | undefined;
  let client: GenerateClient;
  // tiny: 12 layers × 2 (K, V) × 2 KV heads × 16 × 4 bytes = 3 KiB per position, so 2.2 MiB hold 750 positions:
  // two answers of (prompt + 300), never three.
  const maxNewTokens = 300;
  beforeAll(async () => {
    a = await startTestCluster({ model, stages: 1, queuePrefix, kvBudgetMb: 2.2 });
    client = new GenerateClient(testRedisUrl(), { prefix: queuePrefix });
  });
  afterAll(async () => {
    await client?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('a full driver leaves the extra jobs waiting in BullMQ, and a second replica takes them', async () => {
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.submit({ input: { question: `Job ${i}: count.` }, sampling: { maxNewTokens, temperature: 0, ignoreEos: true } })),
    );
    const results = Promise.all(ids.map((id) => client.result(id, 240_000))) as Promise<GenerateJobResult[]>;
    // While one replica runs, BullMQ's own counts show two jobs active and the other eight waiting.
    const seen: Array<{ waiting: number; active: number }> = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const c = await client.counts();
      seen.push({ waiting: c.waiting ?? 0, active: c.active ?? 0 });
      if (seen.filter((s) => s.active === 2 && s.waiting === 8).length >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen.filter((s) => s.active === 2 && s.waiting === 8).length, JSON.stringify(seen.slice(-10))).toBeGreaterThanOrEqual(3);
    // From then on (the first burst may fetch a few jobs that go straight back), at most one job beyond the two
    // running is ever taken: the one fetched as a sequence ends, on its way back if it does not fit.
    const steady = seen.slice(seen.findIndex((s) => s.active === 2 && s.waiting === 8));
    expect(Math.max(...steady.map((s) => s.active)), JSON.stringify(steady)).toBeLessThanOrEqual(3);
    b = await startTestCluster({ model, stages: 1, queuePrefix, kvBudgetMb: 2.2 });
    const done = await results;
    expect(done.every((r) => r.completionTokens === maxNewTokens)).toBe(true);
    const by = new Map<string, number>();
    for (const r of done) by.set(r.servedBy!, (by.get(r.servedBy!) ?? 0) + 1);
    expect(by.size, JSON.stringify([...by])).toBe(2);
    expect(a.logs.join('\n')).not.toMatch(/KvBudgetError/);
  });
});
