import type { ServerResponse } from 'node:http';
import type { Principal } from '@ivl/client-grpc';
import { ApiError, type ChatCompletion, type PreparedChat, chatCompletion, serverError, unavailable } from '@ivl/openai-api';
import type { GenerateJobResult } from '@ivl/queue';
import type { GatewayServices } from '../services/gateway-services';
import { cancelOnDisconnect } from './cancel-on-disconnect';

/**
 * Waits for a job's end and answers one chat.completion. Follows the token stream (not a poll) so the answer leaves
 * as soon as generation ends; a client that disconnects meanwhile cancels the job.
 */
export async function completeOnce(s: GatewayServices, p: PreparedChat, jobId: string, who: Principal, res: ServerResponse): Promise<ChatCompletion | undefined> {
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
    return chatCompletion(jobId, p.model, Math.floor(Date.now() / 1000), result);
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
