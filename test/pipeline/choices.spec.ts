import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerateClient, GenerateJobResult } from '@ivl/queue';
import { tinyCheckpoint } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';

const N = 4;
const question = `Summarise this: ${'the quick brown fox jumps over the lazy dog, '.repeat(60)}`;

/**
 * n > 1 through a 2-stage pipeline, prefix cache off: the choices of one request (one choice group, seeds s, s + 1,
 * …, as the gateway submits them) run together; one prefills the prompt, the others fork its KV, and each samples
 * exactly what it samples alone.
 */
describe('the choices of one request on a 2-stage pipeline (--prefix-cache off)', () => {
  let cluster: TestCluster;
  let client: GenerateClient;
  beforeAll(async () => {
    cluster = await startTestCluster({ model: tinyCheckpoint('tiny'), stages: 2, extraWorkerArgs: ['--prefix-cache', 'off'] });
    client = new GenerateClient(cluster.redisUrl, { prefix: cluster.queuePrefix });
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  const run = (seed: number, choiceGroup?: string) =>
    client
      .submit({ input: { question }, sampling: { maxNewTokens: 24, temperature: 0.8, topK: 40, seed }, returnTokens: true }, { choiceGroup })
      .then((id) => client.result(id, 120_000));

  it('fork the first choice\'s prompt (cached_tokens = prompt − 1) and answer as each choice alone', async () => {
    const together = await Promise.all(Array.from({ length: N }, (_, i) => run(100 + i, 'req-1')));
    const alone: GenerateJobResult[] = [];
    for (let i = 0; i < N; i++) alone.push(await run(100 + i));
    const prompt = together[0].promptTokens;
    expect(prompt).toBeGreaterThan(500);
    together.forEach((r, i) => expect(r.tokens, `choice ${i}`).toEqual(alone[i].tokens));
    expect(new Set(together.map((r) => r.text)).size).toBeGreaterThan(1);
    // One choice prefilled the prompt; the others took all of it but the last position from it.
    expect(together.map((r) => r.cachedTokens).sort((a, b) => a! - b!)).toEqual([0, ...Array(N - 1).fill(prompt - 1)]);
    // Without the prefix cache, nothing is shared across requests.
    expect(alone.map((r) => r.cachedTokens)).toEqual(Array(N).fill(0));
  }, 180_000);
});
