import { type IvlTokenizer, byteLevelTokenBytes } from '@ivl/prompt';
import type { JobTokenLogprob } from '@ivl/queue';

export interface OpenAITopLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

export interface OpenAITokenLogprob extends OpenAITopLogprob {
  top_logprobs: OpenAITopLogprob[];
}

export interface OpenAILogprobs {
  content: OpenAITokenLogprob[];
  refusal: null;
}

/**
 * A token as OpenAI reports it: its text and its UTF-8 bytes. A byte-level token that holds part of a character
 * has text with a replacement character, and its exact bytes in `bytes`, as OpenAI's API does.
 */
export function tokenEntry(tok: IvlTokenizer, id: number, logprob: number): OpenAITopLogprob {
  const raw = tok.idToToken(id) ?? '';
  const bytes = (!tok.isAddedToken(id) && byteLevelTokenBytes(raw)) || new TextEncoder().encode(raw);
  return { token: new TextDecoder().decode(bytes), logprob, bytes: Array.from(bytes) };
}

export function openaiLogprobs(tok: IvlTokenizer, lps: readonly JobTokenLogprob[]): OpenAILogprobs {
  return {
    // The end-of-sequence token is not part of the answer (OpenAI does not list it).
    content: lps.filter((lp) => !tok.isSpecial(lp.token)).map((lp) => ({ ...tokenEntry(tok, lp.token, lp.logprob), top_logprobs: lp.top.map(([id, l]) => tokenEntry(tok, id, l)) })),
    refusal: null,
  };
}
