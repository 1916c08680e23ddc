import { beforeAll, describe, expect, it } from 'vitest';
import { writtenTokenizerDir } from './testing/tokenizer-fixture';
import { encodeRequest } from './encode-request';
import type { IvlTokenizer } from './ivl-tokenizer';
import { loadTokenizer } from './load-tokenizer';
import { PromptLengthBound } from './prompt-length-bound';

let tok: IvlTokenizer;
let bound: PromptLengthBound;
beforeAll(async () => {
  tok = await loadTokenizer(writtenTokenizerDir());
  bound = PromptLengthBound.of(tok);
});

/** A deterministic generator, so a failing text can be reproduced. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const PIECES = ['a', 'b', 'Z', 'the ', ' ', '   ', '\n', '\t', '0', '7', '.', '-', '=', '/', 'é', 'e\u0301', '\u0338', '>', '日本', '🗼', '—', 'Ω', '<|im_start|>', '<|im_end|>', '<img>', '<IMG_CONTEXT>'];

describe('PromptLengthBound (Qwen2 byte-level BPE)', () => {
  it('never exceeds the real token count: random mixes, runs, unicode, combining marks, special tokens', () => {
    const next = rng(12);
    for (let n = 0; n < 400; n++) {
      const parts: string[] = [];
      const len = 1 + Math.floor(next() * 60);
      for (let i = 0; i < len; i++) {
        const p = PIECES[Math.floor(next() * PIECES.length)];
        parts.push(next() < 0.2 ? p.repeat(1 + Math.floor(next() * 300)) : p);
      }
      const text = parts.join('');
      expect(bound.minTokens(text), JSON.stringify(text.slice(0, 200))).toBeLessThanOrEqual(tok.encode(text).length);
    }
  });

  it('is tight for long runs of one character: 1 MiB of `a` is refused against a 32k context, in milliseconds', () => {
    const text = 'a'.repeat(1 << 20);
    const t0 = performance.now();
    const min = bound.minTokens(text);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(min).toBeGreaterThan(32_768);
    expect(bound.minTokens('a'.repeat(65_536))).toBeLessThanOrEqual(tok.encode('a'.repeat(65_536)).length);
    // Qwen2 splits digits one by one, and no token holds two.
    expect(bound.minTokens('1'.repeat(1000))).toBe(tok.encode('1'.repeat(1000)).length);
  });

  it('bounds a chat request from below as encodeRequest builds it (template, image blocks)', () => {
    const request = { system: 'Be brief.', question: '<image>\n' + 'x'.repeat(3000) + ' what is it?', numPatchesList: [3], numImageToken: 16 };
    const real = encodeRequest(tok, request).ids.length;
    const min = bound.minRequestTokens(tok, request);
    expect(min).toBeLessThanOrEqual(real);
    expect(min).toBeGreaterThanOrEqual(3 * 16 + 2);
  });
});
