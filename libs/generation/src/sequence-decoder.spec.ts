import { beforeAll, describe, expect, it } from 'vitest';
import { IvlTokenizer, loadTokenizer } from '@ivl/prompt';
import { tinyCheckpoint } from '@ivl/test-support';
import { SequenceDecoder } from './sequence-decoder';
import { GREEDY } from './sampling-params';

let tok: IvlTokenizer;
beforeAll(async () => {
  tok = await loadTokenizer(tinyCheckpoint('tiny'));
});

/** Feeds a fixed token sequence through the decoder (as a model would produce it) and collects the deltas. */
function feed(ids: number[], opts: Partial<ConstructorParameters<typeof SequenceDecoder>[2]> = {}) {
  const d = new SequenceDecoder(tok, [1, 2, 3], { params: { ...GREEDY, maxNewTokens: 1000, ...(opts.params ?? {}) }, eosTokenIds: [151645], seed: 0, ...opts });
  const deltas: string[] = [];
  for (const id of ids) {
    const one = new Float32Array(151674);
    one[id] = 1;
    const step = d.accept(one);
    deltas.push(step.delta);
    if (step.finished) break;
  }
  return { d, deltas };
}

describe('SequenceDecoder: streamed text equals the final text', () => {
  it('multi-byte Chinese and emoji arrive as whole characters and concatenate to the decoded answer', () => {
    const text = '你好，世界！今天天气很好 🌞 and some English.';
    const ids = tok.encode(text);
    const { d, deltas } = feed([...ids, 151645]);
    expect(d.finishReason).toBe('stop');
    expect(deltas.join('')).toBe(d.outputText);
    expect(d.outputText).toBe(text);
    for (const x of deltas) expect(x).not.toContain('\uFFFD');
    // at least one token held back part of a character (so the test exercises the buffering)
    expect(ids.length).toBeGreaterThan([...text].length / 3);
  });

  it('applies the card post-processing (strip) while streaming', () => {
    const ids = tok.encode('\n\n  Hello there  \n');
    const { d, deltas } = feed([...ids, 151645]);
    expect(d.outputText).toBe('Hello there');
    expect(deltas.join('')).toBe('Hello there');
  });

  it('stop strings cut the answer at their earliest occurrence and never leak a prefix', () => {
    const ids = tok.encode('Count: one, two, three STOP four five');
    const { d, deltas } = feed(ids, { params: { ...GREEDY, maxNewTokens: 1000, stop: ['STOP', 'five'] } });
    expect(d.finishReason).toBe('stop');
    expect(d.outputText).toBe('Count: one, two, three');
    expect(deltas.join('')).toBe(d.outputText);
    expect(deltas.some((x) => x.includes('ST'))).toBe(false);
  });

  it('eos ends with stop, max_new_tokens with length, and special tokens are skipped as chat() decodes', () => {
    expect(feed([9707, 151645]).d.finishReason).toBe('stop');
    const long = feed(tok.encode('a b c d e f'), { params: { ...GREEDY, maxNewTokens: 3 } });
    expect(long.d.finishReason).toBe('length');
    expect(long.d.tokens).toHaveLength(3);
    const special = feed([151644, 9707, 151665, 4337, 151645]);
    expect(special.d.outputText).toBe('Hello World');
  });

  it('ignore_eos keeps generating through end-of-sequence tokens', () => {
    const r = feed([9707, 151645, 4337], { params: { ...GREEDY, maxNewTokens: 3, ignoreEos: true } });
    expect(r.d.tokens).toEqual([9707, 151645, 4337]);
    expect(r.d.finishReason).toBe('length');
  });

  it('grounding boxes come back in pixel coordinates of the image', () => {
    const answer = '<ref>the cat</ref><box>[[100, 200, 500, 750]]</box>';
    const { d } = feed([...tok.encode(answer), 151645]);
    expect(d.grounding(800, 600)).toEqual([{ label: 'the cat', boxes: [[80, 120, 400, 450]] }]);
    // chat()'s decode skips the special tags but keeps the coordinates
    expect(d.outputText).toBe('the cat[[100, 200, 500, 750]]');
  });
});
