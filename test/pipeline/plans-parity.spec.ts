import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerateClient } from '@ivl/queue';
import { tinyCheckpoint } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';
import { ForwardReport, ivlForward } from '../support/forward';
import { syntheticImage } from '../support/images';

/**
 * Greedy answers through real stage processes and gRPC equal single-process `ivl forward`, token for token, for
 * the model card's splits and a cost-balanced one, with and without an image.
 */
describe.each([
  ['card', 1],
  ['card', 2],
  ['card', 4],
  ['balanced', 3],
])('plan %s:%i', (plan, stages) => {
  const model = tinyCheckpoint('tiny');
  let cluster: TestCluster;
  let client: GenerateClient;
  let image: { path: string; bytes: Uint8Array };
  const expected: Record<string, ForwardReport> = {};

  beforeAll(async () => {
    image = await syntheticImage(800, 600, 3);
    expected.text = ivlForward(['--model', model, '--prompt', 'Tell me a story.', '--max-new-tokens', '12']);
    expected.image = ivlForward(['--model', model, '--prompt', 'What is in the picture?', '--image', image.path, '--max-new-tokens', '12']);
    cluster = await startTestCluster({ model, stages, plan });
    client = new GenerateClient(cluster.redisUrl, { prefix: cluster.queuePrefix });
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('text prompt', async () => {
    const id = await client.submit({ input: { question: 'Tell me a story.' }, sampling: { maxNewTokens: 12, temperature: 0 }, returnTokens: true });
    const r = await client.result(id, 60_000);
    expect(r.inputIds).toEqual(expected.text.input_ids);
    expect(r.tokens).toEqual(expected.text.tokens);
    expect(r.text).toBe(expected.text.text);
  });

  it('image prompt (800×600 → 13 tiles)', async () => {
    const id = await client.submit({ input: { question: 'What is in the picture?', images: [{ data: image.bytes }] }, sampling: { maxNewTokens: 12, temperature: 0 }, returnTokens: true });
    const r = await client.result(id, 60_000);
    expect(r.numPatches).toEqual([13]);
    expect(r.inputIds).toEqual(expected.image.input_ids);
    expect(r.tokens).toEqual(expected.image.tokens);
  });
});
