import { BYTE_TO_CHAR } from '../byte-level';
import type { BaseVocabulary } from '../qwen-base-vocab';

/**
 * Oniguruma's `\s` (the engine Hugging Face tokenizers compiles the split pattern with): it includes U+0085 and
 * excludes U+FEFF, unlike JavaScript's `\s`, so the class is spelled out.
 */
const WS = '\\t\\n\\v\\f\\r\\x85\\p{Zl}\\p{Zp}\\p{Zs}';

/** Qwen2's split pattern in plain JavaScript syntax (no inline case-insensitive group). */
const SPLIT = new RegExp(
  "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])" +
    '|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+' +
    '|\\p{N}' +
    `| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*` +
    `|[${WS}]*[\\r\\n]+` +
    `|[${WS}]+(?![^${WS}])` +
    `|[${WS}]+`,
  'gu',
);

/**
 * A deliberately naive byte-level BPE (NFC, regex split, repeatedly merge the lowest-ranked adjacent pair) to check
 * the library-backed tokenizer against first principles. Text only: no added tokens.
 */
export function referenceEncode(text: string, base: BaseVocabulary): number[] {
  const ranks = referenceRanks(base);
  const out: number[] = [];
  for (const m of text.normalize('NFC').matchAll(SPLIT)) {
    let word = [...new TextEncoder().encode(m[0])].map((b) => BYTE_TO_CHAR[b]);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      word = [...word.slice(0, best), word[best] + word[best + 1], ...word.slice(best + 2)];
    }
    for (const piece of word) out.push(base.vocab[piece]);
  }
  return out;
}

const rankCache = new WeakMap<BaseVocabulary, Map<string, number>>();

function referenceRanks(base: BaseVocabulary): Map<string, number> {
  let ranks = rankCache.get(base);
  if (!ranks) {
    ranks = new Map(base.merges.map((m, i) => [`${m[0]} ${m[1]}`, i]));
    rankCache.set(base, ranks);
  }
  return ranks;
}
