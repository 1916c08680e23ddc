import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerateClient } from '@ivl/queue';
import { tinyCheckpoint } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';
import { ForwardReport, ivlForward } from '../support/forward';
import { syntheticImage } from '../support/images';

/**
 * Every architecture of the family end to end: `ivl forward` in one process, and a two-stage `ivl up` cluster
 * (card:2, real worker processes and gRPC) that must answer with the same tokens. tiny-1b: Qwen2 with head_dim 64 and a
 * tied head; tiny-2b: InternViT-300M + InternLM2; tiny-26b: InternViT-6B + InternLM2; tiny-78b: InternViT-6B + Qwen2.
 */
describe.each([
  ['tiny-1b', 151667, null],
  ['tiny-2b', 92546, 1],
  ['tiny-26b', 92546, 1],
  ['tiny-78b', 151667, null],
])('%s', (preset, imgContext, bos) => {
  const model = tinyCheckpoint(preset as string);
  let cluster: TestCluster;
  let client: GenerateClient;
  let image: { path: string; bytes: Uint8Array };
  let expected: ForwardReport;

  beforeAll(async () => {
    image = await syntheticImage(640, 480, 4);
    expected = ivlForward(['--model', model, '--prompt', '请描述这张图片 and the colours.', '--image', image.path, '--max-new-tokens', '10']);
    cluster = await startTestCluster({ model, stages: 2, plan: 'card' });
    client = new GenerateClient(cluster.redisUrl, { prefix: cluster.queuePrefix });
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('ivl forward lays out the prompt in this model\'s vocabulary', () => {
    expect(expected.input_ids.filter((t) => t === imgContext).length).toBe(expected.num_patches.reduce((a, b) => a + b, 0) * 256);
    if (bos !== null) expect(expected.input_ids[0]).toBe(bos);
    else expect(expected.input_ids[0]).toBe(151644);
    expect(expected.tokens).toHaveLength(10);
  });

  it('a two-stage cluster gives the same greedy tokens as one process', async () => {
    const id = await client.submit({ input: { question: '请描述这张图片 and the colours.', images: [{ data: image.bytes }] }, sampling: { maxNewTokens: 10, temperature: 0 }, returnTokens: true });
    const r = await client.result(id, 90_000);
    expect(r.inputIds).toEqual(expected.input_ids);
    expect(r.tokens).toEqual(expected.tokens);
    expect(r.text).toBe(expected.text);
  });
});
