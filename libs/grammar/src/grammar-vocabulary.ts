import type { IvlTokenizer } from '@ivl/prompt';
import { GrammarEngine } from './grammar-engine';

/** Qwen2.5's tool-call tags are added tokens that a tool-call grammar must be able to produce. */
const GRAMMAR_ADDED_TOKENS = new Set(['<tool_call>', '</tool_call>']);

/**
 * The vocabulary as xgrammar's byte-level tokenizer info reads it: each id's byte-level BPE string. Added tokens
 * (chat markers, image tags, grounding tags) are given as empty strings, which xgrammar treats as special and never
 * lets a grammar produce, so `<|im_start|>` can never appear inside a JSON string; the end-of-sequence ids are
 * passed separately as stop tokens. Rows past the tokenizer (padding of the embedding) are empty too.
 */
export function grammarVocabulary(tokenizer: IvlTokenizer, vocabSize: number): string[] {
  const out = new Array<string>(vocabSize);
  for (let id = 0; id < vocabSize; id++) {
    const t = id < tokenizer.vocabSize ? tokenizer.idToToken(id) : undefined;
    out[id] = t === undefined || (tokenizer.isAddedToken(id) && !GRAMMAR_ADDED_TOKENS.has(t)) ? '' : t;
  }
  return out;
}

/** A grammar engine for `tokenizer`, built on first use (its vocabulary info takes a few hundred ms to build). */
export function lazyGrammarEngine(tokenizer: IvlTokenizer, vocabSize: number, stopTokenIds: number[]): () => Promise<GrammarEngine> {
  let engine: Promise<GrammarEngine> | undefined;
  return () => {
    engine ??= GrammarEngine.create({ vocab: grammarVocabulary(tokenizer, vocabSize), stopTokenIds });
    engine.catch(() => (engine = undefined));
    return engine;
  };
}
