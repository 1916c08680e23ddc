/** The BullMQ queue every pipeline consumes. */
export const GENERATE_QUEUE = 'ivl-generate';
export const GENERATE_JOB = 'generate';

/** Media travel as content-addressed blobs in Redis (see BlobStore), never inline in job data. */
export interface ImageRef {
  blob: string;
  /** max_dynamic_patch for this image; defaults to the request's, then the model's (12). */
  maxNum?: number;
}

export interface VideoRef {
  blob: string;
  numSegments: number;
  /** Start and end in seconds, as the card's `bound`. */
  bound?: [number, number];
}

export interface ChatTurn {
  question: string;
  answer: string;
}

/** What to generate: a chat() call in the model card's terms. */
export interface GenerateInput {
  system?: string;
  history?: ChatTurn[];
  question: string;
  /** Every image of the conversation in placeholder order (earlier turns first). */
  images?: ImageRef[];
  video?: VideoRef;
  /** One `<image>` for all tiles (the card's combined form) instead of one per image. */
  combineImages?: boolean;
  maxNum?: number;
}

export interface JobSampling {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  /** Always set by the producer, so that a retried job samples exactly the same tokens. */
  seed: number;
  stop: string[];
  ignoreEos?: boolean;
  presencePenalty?: number;
  frequencyPenalty?: number;
  minP?: number;
  /** Token id (as a string key) → bias added to its logit. */
  logitBias?: Record<string, number>;
  /** false: special tokens are kept in the text (vLLM's skip_special_tokens). */
  skipSpecialTokens?: boolean;
  /** Report each token's log-probability and this many alternatives (0–20); absent: no logprobs. */
  logprobs?: number;
}

/** What the answer must match (see @ivl/grammar's GrammarSpec, which has this shape). */
export type JobGrammar =
  | { type: 'json_object' }
  | { type: 'json_schema'; schema: string; strict: boolean }
  | { type: 'structural_tag'; tag: string };

/** One generated token's log-probability and the most likely alternatives as [id, logprob], most likely first. */
export interface JobTokenLogprob {
  token: number;
  logprob: number;
  top: Array<[number, number]>;
}

export interface GenerateJobData {
  v: 1;
  model: string;
  input: GenerateInput;
  sampling: JobSampling;
  /** Structured output: the worker constrains sampling with this grammar. */
  grammar?: JobGrammar;
  /** Tokenize `input.question` as it is (no chat template, no images): /v1/completions. */
  rawPrompt?: boolean;
  /** Return prompt ids and generated ids in the result (for `ivl generate --json` and parity tests). */
  returnTokens?: boolean;
  /** Milliseconds since the epoch when the producer enqueued the job (queue-time metric). */
  enqueuedAt: number;
  /**
   * The choices of one request (OpenAI's n) share this id: those a pipeline runs together prefill the prompt once
   * (the others fork from the first's KV).
   */
  choiceGroup?: string;
}

export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error';

export interface GroundedBox {
  label: string;
  boxes: Array<[number, number, number, number]>;
}

export interface GenerateJobResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  /** Prompt positions whose KV came from the prefix cache instead of prefill (usage.prompt_tokens_details.cached_tokens). */
  cachedTokens?: number;
  completionTokens: number;
  inputIds?: number[];
  tokens?: number[];
  /** One entry per generated token, when sampling.logprobs was set. */
  logprobs?: JobTokenLogprob[];
  /** `<ref>…</ref><box>…</box>` answers, in pixel coordinates of the first image. */
  grounding?: GroundedBox[];
  /** Prompt with `<image>` placeholders (the templated text). */
  prompt?: string;
  numPatches?: number[];
  timings: { queueMs: number; ttftMs: number; prefillMs: number; decodeMs: number; totalMs: number };
  /** Which pipeline served it and on which attempt (for operators). */
  servedBy?: string;
  attempt?: number;
}
