import type { MergePair } from './qwen-base-vocab';

/** An added token in tokenizer.json form. */
export interface FastAddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
  readonly single_word: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  readonly normalized: boolean;
}

/** Qwen2's pre-tokenization split (contractions, letter runs, single digits, punctuation runs, newlines, spaces). */
export const QWEN2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*" +
  '|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';

/**
 * The tokenizer.json transformers derives when it converts a slow Qwen2Tokenizer (vocab.json + merges.txt) to a
 * fast one. InternVL checkpoints ship only the slow files, so this is how they get a fast tokenizer at all.
 */
export function buildFastTokenizerJson(
  vocab: Readonly<Record<string, number>>,
  merges: readonly MergePair[],
  addedTokens: readonly FastAddedToken[],
): object {
  // ByteLevel here only maps bytes to characters: the Split above already did the word splitting.
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...addedTokens].sort((a, b) => a.id - b.id),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map((m) => [m[0], m[1]]),
    },
  };
}
