import { type PromptEncoder, PromptLengthBound, TokenizeTimeoutError, TokenizerBusyError, inThreadEncoder } from '@ivl/prompt';
import { ApiError, badRequest, unavailable } from './errors';
import type { PrepareContext } from './prepare-chat';

/** The encoder a request is tokenized with: the gateway's thread pool, or the model's tokenizer on this thread. */
export function encoderOf(ctx: PrepareContext): PromptEncoder {
  return ctx.encoder ?? inThreadEncoder(ctx.model.tokenizer);
}

/** The most prompt tokens a request may have (the same rule as tokenBudget). */
export function maxPromptTokens(ctx: PrepareContext): number {
  const context = Math.min(ctx.model.contextLength, ctx.limits.maxContextTokens ?? Infinity);
  return Math.min(ctx.limits.maxPromptTokens ?? context, context - 1);
}

export function promptTooLong(promptTokens: number, ctx: PrepareContext, atLeast = false): ApiError {
  const counted = atLeast
    ? `are at least ${promptTokens} tokens long (counted from the bytes of the text, without tokenizing it)`
    : `resulted in ${promptTokens} tokens (images included)`;
  return new ApiError(400, 'invalid_request_error', 'context_length_exceeded',
    `This model's maximum prompt length is ${maxPromptTokens(ctx)} tokens. However, your messages ${counted}. Please reduce the length of the messages or the images.`, 'messages');
}

/** Refuses, before any tokenizing, a prompt whose text alone is certainly longer than the context allows. */
export function refuseCertainlyTooLong(minTokens: number, ctx: PrepareContext): void {
  if (minTokens > maxPromptTokens(ctx)) throw promptTooLong(minTokens, ctx, true);
}

export const lengthBound = (ctx: PrepareContext) => PromptLengthBound.of(ctx.model.tokenizer);

/** Runs one tokenizer call, turning the pool's refusals into OpenAI errors (503 busy, 400 for a prompt too slow). */
export async function tokenizing<T>(f: () => Promise<T>, param = 'messages'): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof TokenizerBusyError) throw unavailable('tokenizer_busy', `the gateway is busy tokenizing other prompts (${e.message}); retry shortly`, 1);
    if (e instanceof TokenizeTimeoutError) {
      throw badRequest('prompt_too_complex', `the prompt could not be tokenized in time (${e.message}); long runs of text without spaces are slow to tokenize, send a shorter prompt`, param);
    }
    throw e;
  }
}

/** A raw prompt's ids (no template: /v1/completions, /tokenize), refused first when certainly too long. */
export async function encodeRawPrompt(prompt: string, ctx: PrepareContext): Promise<number[]> {
  refuseCertainlyTooLong(lengthBound(ctx).minTokens(prompt), ctx);
  return tokenizing(() => encoderOf(ctx).encode(prompt), 'prompt');
}
