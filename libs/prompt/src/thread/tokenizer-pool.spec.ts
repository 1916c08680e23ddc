import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writtenTokenizerDir } from '../testing/tokenizer-fixture';
import { encodeRequest } from '../encode-request';
import { PromptError } from '../errors';
import type { IvlTokenizer } from '../ivl-tokenizer';
import { loadTokenizer } from '../load-tokenizer';
import { TokenizeTimeoutError, TokenizerBusyError, TokenizerPool } from './tokenizer-pool';

// Real threads running dist/tokenizer-thread.js (`node tools/build.mjs`) on the tiny checkpoint's Qwen2 tokenizer.
let tok: IvlTokenizer;
let pool: TokenizerPool;
const dir = writtenTokenizerDir();

beforeAll(async () => {
  [tok, pool] = await Promise.all([loadTokenizer(dir), TokenizerPool.start({ modelDir: dir, threads: 2 })]);
});
afterAll(() => pool.close());

const TEXTS = [
  'Hello, world!',
  'Grüße aus Zürich — 東京タワー 🗼 and e\u0301 (a combining mark), Ω≈ç√∫',
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n<img><IMG_CONTEXT></img> what is this?<|im_end|>',
  '    indented code():\n\treturn [1, 2, 3] # 12345678901234567890',
  'a'.repeat(5000),
  '',
];

describe('TokenizerPool', () => {
  it('gives the ids of the same tokenizer on the calling thread, special tokens and unicode included', async () => {
    const got = await Promise.all(TEXTS.map((t) => pool.encode(t)));
    expect(got).toEqual(TEXTS.map((t) => tok.encode(t)));
  });

  it('encodes chat requests with their image blocks exactly as encodeRequest does', async () => {
    const request = {
      system: 'Be brief.',
      history: [{ question: 'Hi', answer: 'Hello! <|im_end|> is a marker.' }],
      question: 'Image-1: <image>\nImage-2: <image>\nAnd here? 猫?',
      numPatchesList: [2, 1],
      numImageToken: 4,
    };
    expect(await pool.encodeRequest(request)).toEqual(encodeRequest(tok, request));
  });

  it('decodes as the tokenizer does, with and without special tokens', async () => {
    const ids = tok.encode(TEXTS[2] + TEXTS[1]);
    expect(await pool.decode(ids)).toBe(tok.decode(ids));
    expect(await pool.decode(ids, { skipSpecialTokens: true })).toBe(tok.decode(ids, { skipSpecialTokens: true }));
  });

  it('keeps PromptError and its code across the thread', async () => {
    const err = await pool.encodeRequest({ question: '<image> and <image>', numPatchesList: [1] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromptError);
    expect((err as PromptError).code).toBe('IMAGE_COUNT_MISMATCH');
  });

  it('keeps a thread for short prompts: long ones take all threads but one', async () => {
    const long = 'ab'.repeat(50_000);
    const order: string[] = [];
    const calls = [
      pool.encode(long).then(() => order.push('long 1')),
      pool.encode(long).then(() => order.push('long 2')),
      pool.encode('short').then(() => order.push('short')),
    ];
    // The second long prompt waits; the short one runs beside the first.
    expect(pool.load).toEqual({ running: 2, queued: 1 });
    await Promise.all(calls);
    expect(order).toEqual(['short', 'long 1', 'long 2']);
  });

  it('ends a call past its deadline, replaces the thread, and serves the next call', async () => {
    const slow = await TokenizerPool.start({ modelDir: dir, threads: 1, timeoutMs: 50 });
    try {
      // ~1 s of BPE: one pre-token of 200k letters.
      await expect(slow.encode('ab'.repeat(100_000))).rejects.toBeInstanceOf(TokenizeTimeoutError);
      expect(await slow.encode('Hello, world!')).toEqual(tok.encode('Hello, world!'));
    } finally {
      await slow.close();
    }
  });

  it('refuses a call when every thread is busy and the wait list is full', async () => {
    const small = await TokenizerPool.start({ modelDir: dir, threads: 1, maxQueued: 1 });
    try {
      const long = 'ab'.repeat(20_000);
      const running = small.encode(long);
      const waiting = small.encode('waits its turn');
      await expect(small.encode('one too many')).rejects.toBeInstanceOf(TokenizerBusyError);
      expect(small.load).toEqual({ running: 1, queued: 1 });
      expect(await running).toEqual(tok.encode(long));
      expect(await waiting).toEqual(tok.encode('waits its turn'));
    } finally {
      await small.close();
    }
  });
});
