/** What a request asks of generation; defaults follow OpenAI's API (temperature 1, top_p 1). */
export interface SamplingParams {
  maxNewTokens: number;
  /** 0 means greedy decoding. */
  temperature: number;
  /** 0 disables top-k. */
  topK: number;
  topP: number;
  /** HF semantics: > 1 discourages tokens already in the prompt or the answer. */
  repetitionPenalty: number;
  /** Same seed, same output. When absent a random seed is drawn (and reported) so a retry repeats the sample. */
  seed?: number;
  stop: string[];
  /** Keep generating through end-of-sequence tokens until maxNewTokens (vLLM's ignore_eos, for benchmarks). */
  ignoreEos?: boolean;
  /** OpenAI: subtracted once from the logit of every token already generated (not the prompt). */
  presencePenalty?: number;
  /** OpenAI: subtracted from a token's logit once per time it was generated. */
  frequencyPenalty?: number;
  /** Drops tokens whose probability is below minP × the top token's (after temperature), as vLLM. */
  minP?: number;
  /** Token id → value added to its logit before anything else (OpenAI's logit_bias, -100…100). */
  logitBias?: Record<number, number>;
  /** false keeps special tokens in the text (grounding tags); chat() skips them. */
  skipSpecialTokens?: boolean;
  /** Report log-probabilities: the chosen token's, plus this many most likely alternatives (0–20). */
  logprobs?: number;
}

export const DEFAULT_SAMPLING: SamplingParams = {
  maxNewTokens: 256,
  temperature: 1,
  topK: 0,
  topP: 1,
  repetitionPenalty: 1,
  stop: [],
};

export const GREEDY: SamplingParams = { ...DEFAULT_SAMPLING, temperature: 0 };

export class SamplingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SamplingError';
  }
}

/** Checks ranges the way OpenAI and vLLM do, so a bad request fails before it reaches a worker. */
export function validateSampling(p: SamplingParams, maxContext?: number, vocab?: number): SamplingParams {
  const bad = (m: string) => {
    throw new SamplingError(m);
  };
  if (!Number.isInteger(p.maxNewTokens) || p.maxNewTokens < 1) bad(`max_tokens must be a positive integer (got ${p.maxNewTokens})`);
  if (maxContext && p.maxNewTokens > maxContext) bad(`max_tokens ${p.maxNewTokens} exceeds the context length ${maxContext}`);
  if (!(p.temperature >= 0 && p.temperature <= 2)) bad(`temperature must be between 0 and 2 (got ${p.temperature})`);
  if (!(p.topP > 0 && p.topP <= 1)) bad(`top_p must be in (0, 1] (got ${p.topP})`);
  if (!Number.isInteger(p.topK) || p.topK < 0) bad(`top_k must be a non-negative integer (got ${p.topK})`);
  if (!(p.repetitionPenalty > 0 && p.repetitionPenalty <= 10)) bad(`repetition_penalty must be in (0, 10] (got ${p.repetitionPenalty})`);
  if (p.seed !== undefined && !(Number.isInteger(p.seed) && p.seed >= 0 && p.seed < 2 ** 32)) bad(`seed must be an integer in [0, 2^32) (got ${p.seed})`);
  if (p.stop.length > 16) bad('at most 16 stop strings are allowed');
  if (p.stop.some((s) => typeof s !== 'string' || s.length === 0)) bad('stop strings must be non-empty strings');
  for (const [k, v] of [['presence_penalty', p.presencePenalty], ['frequency_penalty', p.frequencyPenalty]] as const) {
    if (v !== undefined && !(v >= -2 && v <= 2)) bad(`${k} must be between -2 and 2 (got ${v})`);
  }
  if (p.minP !== undefined && !(p.minP >= 0 && p.minP <= 1)) bad(`min_p must be in [0, 1] (got ${p.minP})`);
  if (p.logprobs !== undefined && !(Number.isInteger(p.logprobs) && p.logprobs >= 0 && p.logprobs <= 20)) bad(`top_logprobs must be an integer between 0 and 20 (got ${p.logprobs})`);
  for (const [id, v] of Object.entries(p.logitBias ?? {})) {
    if (!/^\d+$/.test(id) || (vocab !== undefined && Number(id) >= vocab)) bad(`logit_bias has an unknown token id ${id}${vocab !== undefined ? ` (the vocabulary has ${vocab} tokens)` : ''}`);
    if (!(typeof v === 'number' && v >= -100 && v <= 100)) bad(`logit_bias values must be between -100 and 100 (token ${id}: ${v})`);
  }
  return p;
}
