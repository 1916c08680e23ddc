import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@ivl/tensor';
import { CHAT_TEMPLATE } from './chat-template';
import { pythonJsonDumps, type JsonValue } from './python-json';
import { loadQwen25BaseVocabulary, type BaseVocabulary } from './qwen-base-vocab';
import { ADDED_TOKENS, ADDITIONAL_SPECIAL_TOKENS, ENDOFTEXT, IM_END } from './special-tokens';

/** The files OpenGVLab publishes for InternVL2_5-4B's tokenizer (there is no tokenizer.json). */
export const TOKENIZER_FILE_NAMES = [
  'vocab.json',
  'merges.txt',
  'added_tokens.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
] as const;

export const MODEL_MAX_LENGTH = 8192;

/** transformers' save_pretrained format for its JSON side files: sorted, 2-space indent, raw UTF-8, final newline. */
function transformersJson(value: JsonValue): string {
  return pythonJsonDumps(value, { indent: 2, sortKeys: true, ensureAscii: false }) + '\n';
}

export function vocabJson(base: BaseVocabulary): string {
  const entries = Object.entries(base.vocab).sort((a, b) => a[1] - b[1]);
  return JSON.stringify(Object.fromEntries(entries));
}

export function mergesTxt(base: BaseVocabulary): string {
  return '#version: 0.2\n' + base.merges.map((m) => `${m[0]} ${m[1]}\n`).join('');
}

export function addedTokensJson(): string {
  return transformersJson(Object.fromEntries(ADDED_TOKENS.map((t) => [t.content, t.id])));
}

function tokenEntry(content: string, special: boolean): JsonValue {
  return { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special };
}

export function tokenizerConfigJson(): string {
  return transformersJson({
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(ADDED_TOKENS.map((t) => [String(t.id), tokenEntry(t.content, t.special)])),
    additional_special_tokens: [...ADDITIONAL_SPECIAL_TOKENS],
    bos_token: null,
    chat_template: CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: IM_END,
    errors: 'replace',
    model_max_length: MODEL_MAX_LENGTH,
    pad_token: ENDOFTEXT,
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  });
}

export function specialTokensMapJson(): string {
  const named = (content: string): JsonValue => ({
    content,
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
  });
  return transformersJson({
    additional_special_tokens: [...ADDITIONAL_SPECIAL_TOKENS],
    eos_token: named(IM_END),
    pad_token: named(ENDOFTEXT),
  });
}

/** Writes the slow-tokenizer files of an InternVL2.5 checkpoint into `dir` (created if needed). */
export function writeTokenizerFiles(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const base = loadQwen25BaseVocabulary();
  const contents: Record<(typeof TOKENIZER_FILE_NAMES)[number], string> = {
    'vocab.json': vocabJson(base),
    'merges.txt': mergesTxt(base),
    'added_tokens.json': addedTokensJson(),
    'tokenizer_config.json': tokenizerConfigJson(),
    'special_tokens_map.json': specialTokensMapJson(),
  };
  for (const name of TOKENIZER_FILE_NAMES) writeFileAtomic(join(dir, name), contents[name]);
}
