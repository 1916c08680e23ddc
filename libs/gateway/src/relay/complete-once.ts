import type { ServerResponse } from 'node:http';
import type { Principal } from '@ivl/client-grpc';
import { ApiError, type ChatCompletion, type PreparedChat, chatCompletion, serverError, unavailable } from '@ivl/openai-api';
import type { GenerateJobResult } from '@ivl/queue';
import type { GatewayServices } from '../services/gateway-services';
import { cancelOnDisconnect } from './cancel-on-disconnect';

/**
 * Waits for the end of a request's jobs (one per choice) and answers one chat.completion. Follows the token streams
 * (not a poll) so the answer leaves as soon as generation ends; a client that disconnects meanwhile cancels them.
 */
export async function completeOnce(s: GatewayServices, p: PreparedChat, jobIds: string | string[], who: Principal, res: ServerResponse): Promise<ChatCompletion | undefined> {
  const ids = Array.isArray(jobIds) ? jobIds : [jobIds];
  const results = await awaitResults(s, ids, who, res);
  if (!results) return undefined;
  return chatCompletion(ids[0], p.model, Math.floor(Date.now() / 1000), results, { tokenizer: s.model.tokenizer, logprobs: p.logprobs, tools: p.tools });
}

/** The stored results of a request's jobs, in choice order; undefined when the client went away. */
export async function awaitResults(s: GatewayServices, ids: string[], who: Principal, res: ServerResponse): Promise<GenerateJobResult[] | undefined> {
  let results: Array<GenerateJobResult | undefined>;
  try {
    results = await Promise.all(ids.map((id) => awaitJob(s, id, who, res)));
  } catch (e) {
    // One choice failed: the others are not worth finishing.
    await Promise.all(ids.map((id) => s.cancel(id, who).catch(() => undefined)));
    throw e;
  }
  if (results.some((r) => r === undefined)) return undefined;
  return results as GenerateJobResult[];
}

/** One job's stored result; undefined when the client went away (the job is cancelled). */
async function awaitJob(s: GatewayServices, jobId: string, who: Principal, res: ServerResponse): Promise<GenerateJobResult | undefined> {
  const link = cancelOnDisconnect(s, jobId, who, res, { timeoutMs: s.limits.requestTimeoutMs });
  try {
    let finish: { finishReason: string; error?: string } | undefined;
    for await (const e of s.stream(jobId, link.signal)) if (e.kind === 'end') finish = e;
    if (s.shutdown.signal.aborted && (!finish || finish.finishReason === 'cancelled')) {
      throw unavailable('shutting_down', 'the gateway shut down before the answer was complete; retry on another replica', 1);
    }
    if (!finish) {
      if (res.destroyed) return undefined; // client gone, job cancelled
      throw new ApiError(504, 'server_error', 'timeout', `no answer within ${s.limits.requestTimeoutMs} ms; the request was cancelled`);
    }
    if (finish.finishReason === 'error') throw serverError(`generation failed: ${finish.error ?? 'unknown error'}`, 'generation_failed');
    const result = await finalResult(s, jobId);
    link.end();
    if (!result) throw new ApiError(409, 'invalid_request_error', 'job_cancelled', 'the request was cancelled before it produced a result');
    return result;
  } finally {
    link.end();
    link.dispose();
  }
}

/** The end entry is written just before the worker returns the job, so the stored result may trail it briefly. */
async function finalResult(s: GatewayServices, jobId: string): Promise<GenerateJobResult | undefined> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const st = await s.client.status(jobId);
    if (st.state === 'completed' && st.result) return st.result;
    if (st.state === 'failed') throw serverError(`generation failed: ${st.error ?? 'unknown error'}`, 'generation_failed');
    if (st.state === 'unknown') return undefined;
    if (Date.now() > deadline) throw serverError('the job ended but its result was not stored in time', 'result_missing');
    await new Promise((r) => setTimeout(r, 20));
  }
}
