import type { ChatInput, ModelObject, PreparedChat } from '@ivl/openai-api';
import type { FinishReason, TokenEvent } from '@ivl/queue';

/** Who is calling: a hash of the API key (or the client address when auth is off). */
export interface Principal {
  id: string;
}

export type JobViewState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobView {
  jobId: string;
  state: JobViewState;
  text?: string;
  finishReason?: FinishReason;
  promptTokens?: number;
  completionTokens?: number;
  /** Prompt tokens served from cached or forked KV (usage.prompt_tokens_details.cached_tokens). */
  cachedTokens?: number;
  error?: string;
}

/**
 * The serving operations behind both the REST controllers and the gRPC service, so both apply the same auth,
 * rate limits, admission and validation. Errors are ApiErrors (mapped to gRPC codes here).
 */
export interface ServingBackend {
  authenticate(authorization: string | undefined, peer: string): Principal;
  /** Counts the call against the caller's rate limit (429 when over). */
  admit(principal: Principal): Promise<unknown>;
  prepare(input: ChatInput): Promise<PreparedChat>;
  enqueue(prepared: PreparedChat, principal: Principal): Promise<string>;
  stream(jobId: string, signal: AbortSignal): AsyncIterable<TokenEvent>;
  getJob(jobId: string, principal: Principal): Promise<JobView>;
  cancel(jobId: string, principal: Principal): Promise<boolean>;
  models(): ModelObject[];
  /** Marks a request in flight until the returned function is called (graceful shutdown waits for these). */
  track(): () => void;
}
