import type { IvlTokenizer } from '@ivl/prompt';
import type { FinishReason, GenerateJobResult, JobTokenLogprob } from '@ivl/queue';
import { tokenEntry } from './logprobs';
import { type OpenAIFinishReason, type Usage, openaiFinishReason, usage } from './responses';

/** The legacy completions logprobs shape: parallel arrays, alternatives as {token: logprob} maps. */
export interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Array<Record<string, number>>;
  text_offset: number[];
}

export interface TextCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: Array<{ index: number; text: string; logprobs: LegacyLogprobs | null; finish_reason: OpenAIFinishReason | null }>;
  usage?: Usage | null;
}

export const textCompletionId = (jobId: string) => `cmpl-${jobId}`;

export function legacyLogprobs(tok: IvlTokenizer, lps: readonly JobTokenLogprob[], offset: number): LegacyLogprobs {
  const out: LegacyLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const lp of lps) {
    if (tok.isSpecial(lp.token)) continue;
    const e = tokenEntry(tok, lp.token, lp.logprob);
    out.tokens.push(e.token);
    out.token_logprobs.push(e.logprob);
    out.top_logprobs.push(Object.fromEntries(lp.top.map(([id, l]) => [tokenEntry(tok, id, l).token, l])));
    out.text_offset.push(offset);
    offset += e.token.length;
  }
  return out;
}

export function textCompletion(jobId: string, model: string, created: number, results: GenerateJobResult[], o: { tokenizer: IvlTokenizer; logprobs: boolean; echo: string | undefined }): TextCompletion {
  const prefix = o.echo ?? '';
  return {
    id: textCompletionId(jobId),
    object: 'text_completion',
    created,
    model,
    choices: results.map((r, index) => ({
      index,
      text: prefix + r.text,
      logprobs: o.logprobs ? legacyLogprobs(o.tokenizer, r.logprobs ?? [], prefix.length) : null,
      finish_reason: openaiFinishReason(r.finishReason),
    })),
    usage: usage(results[0].promptTokens, results.reduce((a, r) => a + r.completionTokens, 0), results[0].cachedTokens),
  };
}

/** One streamed text_completion chunk. */
export function textChunk(jobId: string, model: string, created: number, index: number, text: string, finish: FinishReason | null, logprobs: LegacyLogprobs | null = null): TextCompletion {
  return { id: textCompletionId(jobId), object: 'text_completion', created, model, choices: [{ index, text, logprobs, finish_reason: finish ? openaiFinishReason(finish) : null }] };
}
