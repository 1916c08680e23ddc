import { beforeAll, describe, expect, it } from 'vitest';
import { leftPadBatch } from './batch-padding';
import { encodeRequest } from './encode-request';
import type { IvlTokenizer } from './ivl-tokenizer';
import { ENDOFTEXT_ID, IM_START_ID } from './special-tokens';
import { writtenTokenizer } from './testing/tokenizer-fixture';

let tok: IvlTokenizer;
beforeAll(async () => {
  tok = await writtenTokenizer();
});

describe('leftPadBatch', () => {
  it('pads on the left with <|endoftext|>, masks the padding and restarts positions at the first real token', () => {
    expect(leftPadBatch([[5, 6, 7], [8]])).toEqual({
      inputIds: [
        [5, 6, 7],
        [ENDOFTEXT_ID, ENDOFTEXT_ID, 8],
      ],
      attentionMask: [
        [1, 1, 1],
        [0, 0, 1],
      ],
      positionIds: [
        [0, 1, 2],
        [1, 1, 0],
      ],
    });
  });

  it('lines up batch_chat prompts (one image each) so they all end in the same column', () => {
    const a = encodeRequest(tok, { question: 'Describe the image.', numPatchesList: [2] }).ids;
    const b = encodeRequest(tok, { question: 'Is there a cat in this picture? Answer yes or no.', numPatchesList: [1] }).ids;
    const batch = leftPadBatch([a, b]);
    const width = Math.max(a.length, b.length);
    for (const row of batch.inputIds) expect(row.slice(-3)).toEqual([IM_START_ID, 77091, 198]);
    expect(batch.inputIds[1].slice(width - b.length)).toEqual(b);
    expect(batch.positionIds[1][width - 1]).toBe(b.length - 1);
    expect(() => leftPadBatch([])).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
