import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerateClient, GenerateJobResult } from '@ivl/queue';
import { testRedisUrl, tinyCheckpoint, uniquePrefix } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';

/**
 * Scale out: two pipelines (replicas) consume one queue and share the work. Drain: a stage-0 worker told to stop
 * (SIGTERM) finishes the answers it is generating before it exits, while the other replica takes the rest.
 */
describe('two pipelines on one queue', () => {
  const model = tinyCheckpoint('tiny');
  const queuePrefix = uniquePrefix('replicas');
  let a: TestCluster;
  let b: TestCluster;
  let client: GenerateClient;
  beforeAll(async () => {
    // Each pipeline takes at most 4 sequences at once, so a burst of 12 jobs is shared between them.
    const extraWorkerArgs = ['--max-sequences', '4'];
    [a, b] = await Promise.all([startTestCluster({ model, stages: 2, queuePrefix, extraWorkerArgs }), startTestCluster({ model, stages: 1, queuePrefix, extraWorkerArgs })]);
    client = new GenerateClient(testRedisUrl(), { prefix: queuePrefix });
  });
  afterAll(async () => {
    await client?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const submit = (i: number, maxNewTokens = 24) =>
    client.submit({ input: { question: `Job ${i}: say something.` }, sampling: { maxNewTokens, temperature: 0, ignoreEos: true }, returnTokens: true }).then((id) => client.result(id, 120_000));

  it('both replicas serve jobs from the shared queue, with the same answers', async () => {
    const results: GenerateJobResult[] = await Promise.all(Array.from({ length: 12 }, (_, i) => submit(i, 64)));
    const servers = new Set(results.map((r) => r.servedBy));
    expect(servers.size).toBe(2);
    // The same prompt gives the same greedy answer whichever replica (2 stages or 1) served it.
    const again = await Promise.all([submit(3, 64), submit(3, 64), submit(3, 64)]);
    for (const r of again) expect(r.tokens).toEqual(results[3].tokens);
  });

  it('SIGTERM on stage 0 drains: running answers complete, nothing is lost', async () => {
    const jobs = Array.from({ length: 6 }, (_, i) => submit(100 + i, 64));
    await new Promise((r) => setTimeout(r, 300));
    const stage0 = a.workers[0];
    const exited = new Promise<number | null>((r) => stage0.proc!.once('exit', (code) => r(code)));
    await stage0.stop(60_000); // SIGTERM, as Kubernetes sends; SIGKILL only after 60 s
    expect(await exited).toBe(0);
    const results = await Promise.all(jobs);
    expect(results.every((r) => r.completionTokens === 64 && r.finishReason === 'length')).toBe(true);
    expect(a.logs.join('\n')).toMatch(/SIGTERM: draining/);
  });
});
