import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerateClient, GenerateJobResult } from '@ivl/queue';
import { tinyCheckpoint } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';

const prompts = Array.from({ length: 16 }, (_, i) => ({
  question: `Question ${i}: ${'tell me more about this, '.repeat(i % 5)}please.`,
  maxNewTokens: 4 + ((i * 7) % 20),
}));

/**
 * Continuous batching: 16 jobs of different prompt and answer lengths submitted at once through a 2-stage ring
 * (sequences join and leave the shared decode batches between steps) give exactly the answers they give alone.
 */
describe('16 concurrent jobs on a 2-stage pipeline', () => {
  let cluster: TestCluster;
  let client: GenerateClient;
  beforeAll(async () => {
    cluster = await startTestCluster({ model: tinyCheckpoint('tiny'), stages: 2 });
    client = new GenerateClient(cluster.redisUrl, { prefix: cluster.queuePrefix });
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  const run = (p: (typeof prompts)[number]) =>
    client.submit({ input: { question: p.question }, sampling: { maxNewTokens: p.maxNewTokens, temperature: 0.8, topK: 40, seed: 1234 }, returnTokens: true }).then((id) => client.result(id, 120_000));

  it('equal the same jobs run one by one', async () => {
    const alone: GenerateJobResult[] = [];
    for (const p of prompts) alone.push(await run(p));
    const together = await Promise.all(prompts.map(run));
    together.forEach((r, i) => {
      expect(r.tokens, `job ${i}`).toEqual(alone[i].tokens);
      expect(r.text).toBe(alone[i].text);
      expect(r.completionTokens).toBeLessThanOrEqual(prompts[i].maxNewTokens);
    });
    // The answers differ from each other, so equality above is not trivially true.
    expect(new Set(together.map((r) => r.text)).size).toBeGreaterThan(8);
  });
});
