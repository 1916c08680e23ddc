import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import IORedis from 'ioredis';
import { Job } from 'bullmq';
import { GenerateClient, TokenEvent, keys } from '@ivl/queue';
import { tinyCheckpoint } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';
import { ivlForward } from '../support/forward';

/**
 * A middle stage is SIGKILLed while answers are being generated. The driver fails the in-flight sequences at once,
 * `ivl up` restarts the stage, the jobs are retried when the ring is whole again, and every job completes exactly
 * once with the single-process answer; its token stream has no gap and no repeat.
 */
describe('a stage killed mid-generation', () => {
  const model = tinyCheckpoint('tiny');
  let cluster: TestCluster;
  let client: GenerateClient;
  let redis: IORedis;
  const questions = ['First question?', 'Second, longer question about things?', 'Third?', 'Fourth one, please answer.'];
  const expected: number[][] = [];

  beforeAll(async () => {
    for (const q of questions) expected.push(ivlForward(['--model', model, '--prompt', q, '--max-new-tokens', '160']).tokens);
    cluster = await startTestCluster({ model, stages: 3 });
    client = new GenerateClient(cluster.redisUrl, { prefix: cluster.queuePrefix });
    redis = new IORedis(cluster.redisUrl);
  });
  afterAll(async () => {
    redis?.disconnect();
    await client?.close();
    await cluster?.stop();
  });

  it('every job completes once, correctly, after the stage restarts', async () => {
    const ids = await Promise.all(questions.map((q) => client.submit({ input: { question: q }, sampling: { maxNewTokens: 160, temperature: 0 }, returnTokens: true })));
    // Wait until generation is under way, then kill stage 1.
    for (let i = 0; i < 400; i++) {
      if ((await Promise.all(ids.map((id) => redis.xlen(keys.tokens(id))))).some((n) => n >= 3)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const pid = cluster.workers[1].pid;
    cluster.workers[1].kill('SIGKILL');
    const results = await Promise.all(ids.map((id) => client.result(id, 120_000)));
    expect(cluster.workers[1].restarts).toBe(1);
    expect(cluster.workers[1].pid).not.toBe(pid);
    results.forEach((r, i) => expect(r.tokens, `job ${i}`).toEqual(expected[i]));
    let retried = 0;
    for (const [i, id] of ids.entries()) {
      const events: TokenEvent[] = [];
      for await (const e of client.stream(id)) events.push(e);
      const tokens = events.flatMap((e) => (e.kind === 'tokens' ? e.tokens : []));
      expect(tokens, `stream of job ${i}`).toEqual(expected[i]);
      expect(events.filter((e) => e.kind === 'end')).toHaveLength(1);
      let next = 0;
      for (const e of events) if (e.kind === 'tokens') expect(e.index).toBe((next += e.tokens.length) - e.tokens.length);
      const job = await Job.fromId(client.queue, id);
      expect(await job!.getState()).toBe('completed');
      if (job!.attemptsMade > 0 || (results[i].attempt ?? 0) > 0) retried++;
    }
    expect(retried).toBeGreaterThan(0);
    expect(cluster.logs.join('\n')).toMatch(/ring broken/);
  });
});
