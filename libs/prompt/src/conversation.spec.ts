import { describe, expect, it } from 'vitest';
import { DEFAULT_SYSTEM_MESSAGE, buildConversation } from './conversation';

const SYS = '你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。';

describe('buildConversation (internvl2_5 template)', () => {
  it('uses the verbatim default system message', () => {
    expect(DEFAULT_SYSTEM_MESSAGE).toBe(SYS);
  });

  it('renders a single turn exactly', () => {
    expect(buildConversation({ question: 'Q' })).toBe(
      `<|im_start|>system\n${SYS}<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n`,
    );
  });

  it('renders several turns, each past answer closed by <|im_end|>\\n', () => {
    expect(
      buildConversation({
        history: [
          { question: 'Q1', answer: 'A1' },
          { question: 'Q2', answer: 'A2' },
        ],
        question: 'Q3',
      }),
    ).toBe(
      `<|im_start|>system\n${SYS}<|im_end|>\n` +
        '<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n' +
        '<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\nA2<|im_end|>\n' +
        '<|im_start|>user\nQ3<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('replaces the system message, even with an empty one', () => {
    expect(buildConversation({ system: 'Be brief.', question: 'Q' })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(buildConversation({ system: '', question: 'Q' }).startsWith('<|im_start|>system\n<|im_end|>\n')).toBe(true);
  });

  it('writes only the role for an empty message, like the MPT rule', () => {
    expect(buildConversation({ system: 'S', history: [{ question: 'Q1', answer: '' }], question: '' })).toBe(
      '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n<|im_start|>user\n<|im_start|>assistant\n',
    );
  });

  it('keeps <image> placeholders of old questions untouched', () => {
    const prompt = buildConversation({ history: [{ question: '<image>\nWhat is it?', answer: 'A cat.' }], question: 'Colour?' });
    expect(prompt).toContain('<|im_start|>user\n<image>\nWhat is it?<|im_end|>\n');
  });
});
