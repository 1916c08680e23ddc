import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomic } from '@ivl/tensor';
import { CHAT_TEMPLATE } from './chat-template';
import { pythonJsonDumps, type JsonValue } from './python-json';
import { INTERNLM2_ADDED_TOKENS, INTERNLM2_INTERNVL_TOKENS } from './internlm2-special-tokens';

const FIXTURE = join('libs', 'prompt', 'fixtures', 'internlm2', 'tokenizer.model.gz');

/** The generated sentencepiece model in InternLM2's layout (tools/fixtures/make_internlm2_tokenizer.py). */
export function internLm2FixtureModel(): Buffer {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, FIXTURE))) return gunzipSync(readFileSync(join(dir, FIXTURE)));
    if (dirname(dir) === dir) throw new Error(`${FIXTURE} not found above ${__dirname}: run make-model from a source checkout`);
  }
}

function transformersJson(value: JsonValue): string {
  return pythonJsonDumps(value, { indent: 2, sortKeys: true, ensureAscii: false }) + '\n';
}

const entry = (content: string, special: boolean): JsonValue => ({ content, lstrip: false, normalized: false, rstrip: false, single_word: false, special });

/** The InternLM2 sizes' tokenizer files (InternVL2_5-2B/8B/26B): tokenizer.model and its JSON side files. */
export function writeInternLm2TokenizerFiles(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const named = [
    { id: 0, content: '<unk>' },
    { id: 1, content: '<s>' },
    { id: 2, content: '</s>' },
  ];
  const decoder = Object.fromEntries([...named.map((t) => [String(t.id), entry(t.content, true)]), ...INTERNLM2_ADDED_TOKENS.map((t) => [String(t.id), entry(t.content, t.special)])]);
  const additional = INTERNLM2_ADDED_TOKENS.filter((t) => t.special).map((t) => t.content);
  writeFileAtomic(join(dir, 'tokenizer.model'), internLm2FixtureModel());
  writeFileAtomic(join(dir, 'added_tokens.json'), transformersJson(Object.fromEntries(INTERNLM2_INTERNVL_TOKENS.map((t) => [t.content, t.id]))));
  writeFileAtomic(
    join(dir, 'tokenizer_config.json'),
    transformersJson({
      add_bos_token: true,
      add_eos_token: false,
      added_tokens_decoder: decoder,
      additional_special_tokens: additional,
      auto_map: { AutoTokenizer: ['tokenization_internlm2.InternLM2Tokenizer', null] },
      bos_token: '<s>',
      chat_template: CHAT_TEMPLATE,
      clean_up_tokenization_spaces: false,
      decode_with_prefix_space: false,
      eos_token: '</s>',
      model_max_length: 8192,
      pad_token: '</s>',
      sp_model_kwargs: {},
      tokenizer_class: 'InternLM2Tokenizer',
      unk_token: '<unk>',
    }),
  );
  const plain = (content: string): JsonValue => ({ content, lstrip: false, normalized: false, rstrip: false, single_word: false });
  writeFileAtomic(join(dir, 'special_tokens_map.json'), transformersJson({ additional_special_tokens: additional, bos_token: plain('<s>'), eos_token: plain('</s>'), pad_token: plain('</s>'), unk_token: plain('<unk>') }));
}
