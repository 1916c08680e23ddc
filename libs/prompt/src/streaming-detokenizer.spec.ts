import { beforeAll, describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR } from './byte-level';
import type { IvlTokenizer } from './ivl-tokenizer';
import { IM_END_ID, IMG_START_ID } from './special-tokens';
import { StreamingDetokenizer } from './streaming-detokenizer';
import { TOKENIZER_CORPUS } from './testing/corpus';
import { writtenTokenizer } from './testing/tokenizer-fixture';

let tok: IvlTokenizer;
beforeAll(async () => {
  tok = await writtenTokenizer();
});

function stream(ids: readonly number[], skipSpecialTokens: boolean): string[] {
  const d = new StreamingDetokenizer(tok, skipSpecialTokens);
  return [...ids.map((id) => d.push(id)), d.flush()];
}

/** Ids of single-byte tokens, to build sequences that split characters mid-way on purpose. */
const byteIds = (bytes: number[]): number[] => bytes.map((b) => tok.tokenToId(BYTE_TO_CHAR[b])!);

describe('StreamingDetokenizer', () => {
  const texts = [
    '今天天气很好，我们去公园散步吧。书生·万象',
    'Emoji: 😀👍🏽👨‍👩‍👧‍👦 🇩🇪 ❤️ and 🤖 done',
    'Mixed 中文 and English 混合 text with 123 数字 and emoji 🎉!',
    ...TOKENIZER_CORPUS,
  ];

  it.each([false, true])('deltas add up to decode() token by token (skipSpecialTokens=%s)', (skip) => {
    for (const text of texts) {
      const ids = tok.encode(`<|im_start|>assistant\n${text}<|im_end|>`);
      const deltas = stream(ids, skip);
      expect(deltas.join(''), text).toBe(tok.decode(ids, { skipSpecialTokens: skip }));
      for (const d of deltas) expect(d).not.toContain('\ufffd');
    }
  });

  it('holds back a character spread over several tokens until it is complete', () => {
    // 🤖 is F0 9F A4 96: four single-byte tokens, nothing may appear before the last one.
    const ids = byteIds([0xf0, 0x9f, 0xa4, 0x96, 0x21]);
    expect(stream(ids, false)).toEqual(['', '', '', '🤖', '!', '']);
    // The vocabulary really does split emoji: some token of this text decodes to an incomplete character.
    const emojiIds = tok.encode('👨‍👩‍👧‍👦');
    expect(emojiIds.some((id) => tok.decode([id]).includes('\ufffd'))).toBe(true);
    expect(stream(emojiIds, false).join('')).toBe('👨‍👩‍👧‍👦');
  });

  it('emits U+FFFD where the bytes are really invalid, exactly as decode() does', () => {
    const truncated = byteIds([0x41, 0xe4, 0xb8]);
    expect(stream(truncated, false)).toEqual(['A', '', '', '\ufffd']);
    expect(stream(truncated, false).join('')).toBe(tok.decode(truncated));
    const stray = byteIds([0x80, 0x41]);
    expect(stream(stray, false).join('')).toBe(tok.decode(stray));
  });

  it('treats a kept special token as the end of a byte run, and a skipped one as absent', () => {
    // 中 = E4 B8 AD, interrupted by <|im_end|> after two bytes.
    const ids = [...byteIds([0xe4, 0xb8]), IM_END_ID, ...byteIds([0xad])];
    expect(stream(ids, false).join('')).toBe(tok.decode(ids));
    expect(tok.decode(ids)).toBe('\ufffd<|im_end|>\ufffd');
    expect(stream(ids, true).join('')).toBe(tok.decode(ids, { skipSpecialTokens: true }));
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('中');
  });

  it('passes special tokens through as text unless they are skipped', () => {
    expect(stream([IMG_START_ID, ...tok.encode('x')], false)).toEqual(['<img>', 'x', '']);
    expect(stream([IMG_START_ID, ...tok.encode('x')], true)).toEqual(['', 'x', '']);
    expect(() => stream([tok.vocabSize], false)).toThrowError(expect.objectContaining({ code: 'UNKNOWN_TOKEN_ID' }));
  });
});
