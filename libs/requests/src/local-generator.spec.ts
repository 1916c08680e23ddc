import { beforeAll, describe, expect, it } from 'vitest';
import { GREEDY } from '@ivl/generation';
import { freshCacheDir, tinyCheckpoint } from '@ivl/test-support';
import { LocalGenerator } from './local-generator';

describe("LocalGenerator.batchChat (the card's batch_chat)", () => {
  let generator: LocalGenerator;
  beforeAll(async () => {
    generator = await LocalGenerator.open(tinyCheckpoint('tiny'), { dtype: 'fp32', threads: 1, cacheDir: freshCacheDir('generator') });
  });

  it('answers independent prompts of different lengths together, each exactly as alone', async () => {
    const questions = ['Hi.', 'Please write a long and detailed description of a mountain lake at dawn.', 'What is 2 + 2?', 'Name three colours.'];
    const params = { ...GREEDY, maxNewTokens: 10 };
    const batched = await generator.batchChat(questions.map((question) => ({ question })), params);
    for (const [i, question] of questions.entries()) {
      const alone = await generator.chat({ question }, params);
      expect(batched[i].tokens).toEqual(alone.tokens);
      expect(batched[i].text).toBe(alone.text);
    }
    // The answers are not all the same, so the equality above is not trivially true.
    expect(new Set(batched.map((b) => b.tokens.join(','))).size).toBeGreaterThan(1);
  });

  it('rejects bad sampling before running anything', async () => {
    await expect(generator.batchChat([{ question: 'x' }], { ...GREEDY, maxNewTokens: 0 })).rejects.toThrow(/max_tokens must be a positive integer/);
  });
});
