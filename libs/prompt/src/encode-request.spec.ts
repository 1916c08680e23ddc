import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYSTEM_MESSAGE } from './conversation';
import { buildChatPrompt, buildExpandedPrompt, encodeRequest, type ChatRequest } from './encode-request';
import { combinedImagesQuestion, separateImagesQuestion, videoQuestion } from './image-placeholders';
import type { IvlTokenizer } from './ivl-tokenizer';
import { IMG_CONTEXT_ID, IMG_END_ID, IMG_START_ID } from './special-tokens';
import { writtenTokenizer } from './testing/tokenizer-fixture';

let tok: IvlTokenizer;
beforeAll(async () => {
  tok = await writtenTokenizer();
});

const rep = (id: number, n: number): number[] => new Array<number>(n).fill(id);

describe('encodeRequest', () => {
  it('produces the section 8.4 layout for one 448×448 image', () => {
    const question = 'What is shown in this image?';
    const r = encodeRequest(tok, { question, numPatchesList: [1] });
    expect(r.ids).toEqual([
      151644, 8948, 198, ...tok.encode(DEFAULT_SYSTEM_MESSAGE), 151645, 198,
      151644, 872, 198, 151665, ...rep(151667, 256), 151666, 198, ...tok.encode(question), 151645, 198,
      151644, 77091, 198,
    ]);
    expect(r.prompt).toBe(buildChatPrompt({ question, numPatchesList: [1] }));
    expect(r.prompt).toContain('<|im_start|>user\n<image>\nWhat is shown');
    expect(r.imageContextCount).toBe(256);
    expect(r.imageSpans).toEqual([{ start: r.ids.indexOf(IMG_START_ID) + 1, length: 256 }]);
  });

  const requests: [string, ChatRequest][] = [
    ['text only', { question: 'Tell me a joke about 猫.' }],
    ['13 tiles', { question: 'Describe the image in detail.', numPatchesList: [13] }],
    ['separate images', { ...separateImagesQuestion('Compare them.', [3, 5]) }],
    ['combined images', { ...combinedImagesQuestion('Describe both.', [3, 5]) }],
    ['video frames', { ...videoQuestion('What happens?', 4) }],
    [
      'a follow-up that re-sends the first turn image',
      { history: [{ question: '<image>\nWhat is it?', answer: 'A red panda.' }], question: 'What is it eating?', numPatchesList: [2] },
    ],
    ['a tiny model with 4 tokens per tile', { system: 'S', question: 'A <image> B <image>', numPatchesList: [2, 1], numImageToken: 4 }],
  ];

  it.each(requests)('gives the same ids as encoding the expanded prompt: %s', (_, request) => {
    const r = encodeRequest(tok, request);
    expect(r.ids).toEqual(tok.encode(buildExpandedPrompt(request)));
    const tiles = (request.numPatchesList ?? []).reduce((a, b) => a + b, 0);
    expect(r.imageContextCount).toBe(tiles * (request.numImageToken ?? 256));
    expect(r.ids.filter((id) => id === IMG_CONTEXT_ID)).toHaveLength(r.imageContextCount);
    expect(r.imageSpans).toHaveLength(request.numPatchesList?.length ?? 0);
    for (const s of r.imageSpans) {
      expect(r.ids[s.start - 1]).toBe(IMG_START_ID);
      expect(r.ids[s.start + s.length]).toBe(IMG_END_ID);
    }
  });

  it('gives each separate image its own span with its own tile count', () => {
    const r = encodeRequest(tok, separateImagesQuestion('Compare them.', [3, 5]));
    expect(r.imageSpans.map((s) => s.length)).toEqual([768, 1280]);
  });

  it('does not auto-prefix <image> once there is history, so a missing re-send is an error', () => {
    const request: ChatRequest = { history: [{ question: 'Hi', answer: 'Hello' }], question: 'Look', numPatchesList: [1] };
    expect(() => encodeRequest(tok, request)).toThrowError(expect.objectContaining({ code: 'IMAGE_COUNT_MISMATCH' }));
    expect(() =>
      encodeRequest(tok, { history: [{ question: '<image>\nA?', answer: 'B' }], question: 'C?' }),
    ).toThrow(/1 <image> placeholder\(s\) but 0 image/);
  });

  it('auto-prefixes a single placeholder only, so several images need placeholders of their own', () => {
    expect(() => encodeRequest(tok, { question: 'x', numPatchesList: [2, 1] })).toThrow(
      /1 <image> placeholder\(s\) but 2 image/,
    );
  });

  it('refuses a prompt whose text smuggles in extra image-context tokens', () => {
    expect(() => encodeRequest(tok, { question: 'hi <IMG_CONTEXT>', numPatchesList: [1] })).toThrowError(
      expect.objectContaining({ code: 'IMAGE_TOKEN_MISMATCH' }),
    );
  });

  it('encodes a full 13-tile prompt (≈3,400 tokens) in a few milliseconds', () => {
    const request: ChatRequest = { question: 'Please describe the image shortly.', numPatchesList: [13] };
    const times: number[] = [];
    let length = 0;
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      length = encodeRequest(tok, request).ids.length;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[10];
    console.log(`encodeRequest: ${length} tokens, median ${median.toFixed(2)} ms`);
    expect(length).toBeGreaterThan(3328);
    expect(median).toBeLessThan(10);
  });
});
