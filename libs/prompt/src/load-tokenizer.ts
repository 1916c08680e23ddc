import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from './byte-level';
import { PromptError } from './errors';
import { buildFastTokenizerJson, type FastAddedToken } from './fast-tokenizer-json';
import { IvlTokenizer, type FastTokenizerJson } from './ivl-tokenizer';
import type { MergePair } from './qwen-base-vocab';
import { SentencePieceBackend } from './sentencepiece-tokenizer';

type Json = Record<string, unknown>;

/**
 * Loads the tokenizer of a checkpoint directory: tokenizer.json when there is one, otherwise the slow files
 * (vocab.json, merges.txt, tokenizer_config.json, optional added_tokens.json) converted the way transformers
 * converts a slow Qwen2Tokenizer.
 */
export async function loadTokenizer(dir: string): Promise<IvlTokenizer> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new PromptError('TOKENIZER_FILE_MISSING', `checkpoint directory ${dir} does not exist or is not a directory`);
  }
  const config = await readJson(dir, 'tokenizer_config.json', false);
  const fast = await readJson(dir, 'tokenizer.json', false);
  if (!fast && (await stat(join(dir, 'tokenizer.model')).catch(() => undefined))) return loadSentencePiece(dir, config);
  const json = fast ? checkFastJson(dir, fast) : await convertSlowFiles(dir, config);
  return new IvlTokenizer(json, configSpecialTokens(config ?? {}));
}

/**
 * An InternLM2 checkpoint's slow tokenizer: tokenizer.model (sentencepiece) plus the added tokens of
 * tokenizer_config.json / added_tokens.json, BOS first when add_bos_token (InternLM2Tokenizer's default: true).
 */
async function loadSentencePiece(dir: string, config: Json | undefined): Promise<IvlTokenizer> {
  if (config === undefined) throw missing(dir, 'tokenizer_config.json', 'needed beside tokenizer.model for the added tokens');
  const bytes = await readFile(join(dir, 'tokenizer.model'));
  const addedJson = await readJson(dir, 'added_tokens.json', false);
  const added = collectAddedTokens(dir, config, addedJson, new Set(configSpecialTokens(config)));
  const backend = await SentencePieceBackend.load(bytes, added, join(dir, 'tokenizer.model'));
  const vocab: Record<string, number> = {};
  backend.model.pieces.forEach((p, id) => (vocab[p.piece] = id));
  for (const t of added) {
    const piece = backend.model.pieces[t.id]?.piece;
    if (piece !== undefined && piece !== t.content) {
      throw corrupt(dir, 'tokenizer_config.json', `added token ${JSON.stringify(t.content)} reuses id ${t.id} of ${JSON.stringify(piece)}`);
    }
  }
  let bosTokenId: number | null = null;
  if (config.add_bos_token !== false) {
    const bos = tokenContent(config.bos_token) ?? '<s>';
    bosTokenId = vocab[bos] ?? added.find((t) => t.content === bos)?.id ?? null;
    if (bosTokenId === null) throw corrupt(dir, 'tokenizer_config.json', `add_bos_token is set but ${JSON.stringify(bos)} is not in tokenizer.model`);
  }
  return new IvlTokenizer({ model: { vocab }, added_tokens: added }, configSpecialTokens(config), { backend, bosTokenId });
}

async function readText(dir: string, name: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing(dir, name);
    throw new PromptError('TOKENIZER_FILE_MISSING', `${join(dir, name)} cannot be read: ${(e as Error).message}`);
  }
}

function missing(dir: string, name: string, why?: string): PromptError {
  return new PromptError('TOKENIZER_FILE_MISSING', `${name} is missing in ${dir}${why ? ` (${why})` : ''}`);
}

async function readJson(dir: string, name: string, required: true): Promise<Json>;
async function readJson(dir: string, name: string, required: boolean): Promise<Json | undefined>;
async function readJson(dir: string, name: string, required: boolean): Promise<Json | undefined> {
  const text = await readText(dir, name, required);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw corrupt(dir, name, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw corrupt(dir, name, 'not a JSON object');
  }
  return value as Json;
}

function corrupt(dir: string, name: string, why: string): PromptError {
  return new PromptError('TOKENIZER_FILE_CORRUPT', `${join(dir, name)} is corrupt: ${why}`);
}

function checkFastJson(dir: string, json: Json): FastTokenizerJson {
  const model = json.model as Json | undefined;
  if (!model || typeof model.vocab !== 'object' || model.vocab === null || !Array.isArray(json.added_tokens)) {
    throw corrupt(dir, 'tokenizer.json', 'expected "model.vocab" and "added_tokens"');
  }
  assertByteCoverage(dir, 'tokenizer.json', model.vocab as Json);
  return json as unknown as FastTokenizerJson;
}

/**
 * Byte-level BPE can spell any text only if all 256 byte tokens exist; without one, text containing that byte
 * would be dropped silently (there is no unknown token), so a vocabulary lacking it is refused up front.
 */
function assertByteCoverage(dir: string, name: string, vocab: Json): void {
  const absent = BYTE_TO_CHAR.find((c) => !Object.hasOwn(vocab, c));
  if (absent !== undefined) {
    throw corrupt(dir, name, `the byte token ${JSON.stringify(absent)} (byte ${CHAR_TO_BYTE.get(absent)}) is missing`);
  }
}

/** A named token in tokenizer_config.json is either a string or a serialised AddedToken object. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') {
    return (value as Json).content as string;
  }
  return undefined;
}

/** What transformers' all_special_tokens holds besides flagged added tokens. */
function configSpecialTokens(config: Json): string[] {
  const named = ['bos_token', 'eos_token', 'unk_token', 'pad_token'].map((k) => tokenContent(config[k]));
  const additional = Array.isArray(config.additional_special_tokens)
    ? config.additional_special_tokens.map(tokenContent)
    : [];
  return [...named, ...additional].filter((t): t is string => t !== undefined);
}

async function convertSlowFiles(dir: string, config: Json | undefined): Promise<FastTokenizerJson> {
  // Without the config the special flags are unknown, and decoding with skipSpecialTokens would keep chat markers.
  if (config === undefined) throw missing(dir, 'tokenizer_config.json', 'tokenizer.json is absent too');
  const vocabJson = await readJson(dir, 'vocab.json', true);
  const tokenById = parseVocab(dir, vocabJson);
  const vocab = vocabJson as Record<string, number>;
  const merges = parseMerges(dir, (await readText(dir, 'merges.txt', true))!, vocab);
  const addedJson = await readJson(dir, 'added_tokens.json', false);
  const added = collectAddedTokens(dir, config, addedJson, new Set(configSpecialTokens(config)));
  for (const t of added) {
    const base = tokenById.get(t.id);
    if (base !== undefined && base !== t.content) {
      const why = `added token ${JSON.stringify(t.content)} reuses id ${t.id} of ${JSON.stringify(base)}`;
      throw corrupt(dir, 'tokenizer_config.json', why);
    }
  }
  return buildFastTokenizerJson(vocab, merges, added) as FastTokenizerJson;
}

/** Checks ids and byte coverage; returns the token of each id. */
function parseVocab(dir: string, json: Json): Map<number, string> {
  const seen = new Map<number, string>();
  for (const [token, id] of Object.entries(json)) {
    if (!Number.isSafeInteger(id) || (id as number) < 0) {
      throw corrupt(dir, 'vocab.json', `id of ${JSON.stringify(token)} is ${id}`);
    }
    const other = seen.get(id as number);
    if (other !== undefined) {
      throw corrupt(dir, 'vocab.json', `id ${id} is used by ${JSON.stringify(other)} and ${JSON.stringify(token)}`);
    }
    seen.set(id as number, token);
  }
  assertByteCoverage(dir, 'vocab.json', json);
  return seen;
}

/** Same reading as the slow tokenizer: a `#version` header and blank lines are skipped, each line is `left right`. */
function parseMerges(dir: string, text: string, vocab: Readonly<Record<string, number>>): MergePair[] {
  const merges: MergePair[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw corrupt(dir, 'merges.txt', `line ${i + 1} is not a pair: ${JSON.stringify(raw)}`);
    const [a, b] = parts;
    for (const t of [a, b, a + b]) {
      if (!Object.hasOwn(vocab, t)) {
        throw corrupt(dir, 'merges.txt', `line ${i + 1} uses ${JSON.stringify(t)}, which vocab.json lacks`);
      }
    }
    merges.push([a, b]);
  });
  if (merges.length === 0) throw corrupt(dir, 'merges.txt', 'it has no merges');
  return merges;
}

function flag(entry: Json, key: string, fallback: boolean): boolean {
  return typeof entry[key] === 'boolean' ? (entry[key] as boolean) : fallback;
}

/**
 * tokenizer_config.json's added_tokens_decoder carries the flags; added_tokens.json (the older format) may list
 * more, which become special only if the config names them, as transformers does.
 */
function collectAddedTokens(
  dir: string,
  config: Json,
  addedJson: Json | undefined,
  named: ReadonlySet<string>,
): FastAddedToken[] {
  const byId = new Map<number, FastAddedToken>();
  const decoder = config.added_tokens_decoder;
  if (decoder !== undefined && (typeof decoder !== 'object' || decoder === null)) {
    throw corrupt(dir, 'tokenizer_config.json', '"added_tokens_decoder" is not an object');
  }
  for (const [key, value] of Object.entries((decoder ?? {}) as Json)) {
    const id = Number(key);
    const entry = value as Json;
    if (!Number.isSafeInteger(id) || typeof entry?.content !== 'string') {
      throw corrupt(dir, 'tokenizer_config.json', `added_tokens_decoder entry ${JSON.stringify(key)} is malformed`);
    }
    const special = flag(entry, 'special', false);
    byId.set(id, {
      id,
      content: entry.content,
      special,
      single_word: flag(entry, 'single_word', false),
      lstrip: flag(entry, 'lstrip', false),
      rstrip: flag(entry, 'rstrip', false),
      normalized: flag(entry, 'normalized', !special),
    });
  }
  for (const [content, id] of Object.entries(addedJson ?? {})) {
    if (!Number.isSafeInteger(id)) throw corrupt(dir, 'added_tokens.json', `id of ${JSON.stringify(content)} is ${id}`);
    const known = byId.get(id as number);
    if (known && known.content !== content) {
      throw corrupt(
        dir,
        'added_tokens.json',
        `id ${id} is ${JSON.stringify(content)} but tokenizer_config.json says ${JSON.stringify(known.content)}`,
      );
    }
    if (!known) {
      const special = named.has(content);
      const token = { id: id as number, content, special, single_word: false, lstrip: false, rstrip: false };
      byId.set(id as number, { ...token, normalized: !special });
    }
  }
  return [...byId.values()];
}
