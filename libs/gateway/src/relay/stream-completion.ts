import type { ServerResponse } from 'node:http';
import type { Principal } from '@ivl/client-grpc';
import { ChunkFactory, type PreparedChat, SSE_DONE, sseData, sseHeaders, sseWrite } from '@ivl/openai-api';
import type { GatewayServices } from '../services/gateway-services';
import { cancelOnDisconnect } from './cancel-on-disconnect';

const SHUTTING_DOWN = { error: { message: 'the gateway shut down before the answer was complete', type: 'service_unavailable_error', param: null, code: 'shutting_down' } };

/** The SSE `id:` of a token-stream entry: the job and the entry, so a reconnect names where it left off. */
export const sseEventId = (jobId: string, entryId: string) => `${jobId}/${entryId}`;

/** Parses a Last-Event-ID header written by `sseEventId`; undefined when it is not one of ours. */
export function parseLastEventId(v: string | undefined): { jobId: string; entryId: string } | undefined {
  const m = /^([0-9a-f]{32})\/(\d+-\d+)$/.exec(v?.trim() ?? '');
  return m ? { jobId: m[1], entryId: m[2] } : undefined;
}

const withId = (id: string, frame: string) => `id: ${id}\n${frame}`;

/**
 * Relays a job's token stream as OpenAI chunks: the role chunk at once, a content chunk per delta, the finish
 * chunk, the usage chunk when asked for, then `data: [DONE]`. Every content chunk carries an SSE `id:`; a client
 * that lost the connection sends the same request again with `Last-Event-ID` and gets the rest of the same answer
 * (`resumeFrom`), with nothing repeated. A client that disconnects and does not come back within the resume window
 * cancels the job; a stream past the request timeout ends with a timeout error and cancels it too.
 */
export async function streamCompletion(s: GatewayServices, p: PreparedChat, jobId: string, who: Principal, res: ServerResponse, resumeFrom?: string): Promise<void> {
  const chunks = new ChunkFactory(jobId, p.model, Math.floor(Date.now() / 1000), p.includeUsage);
  const link = cancelOnDisconnect(s, jobId, who, res, { resumeMs: s.limits.streamResumeMs, timeoutMs: s.limits.requestTimeoutMs });
  res.setHeader('X-Request-Id', jobId);
  sseHeaders(res);
  if (!resumeFrom) await sseWrite(res, sseData(chunks.role()));
  let completion = 0;
  const fail = async (error: { message: string; type: string; code: string }) => {
    await sseWrite(res, sseData({ error: { ...error, param: null } }));
    await sseWrite(res, SSE_DONE);
  };
  try {
    for await (const e of s.stream(jobId, link.signal, resumeFrom ?? '0')) {
      if (e.kind === 'tokens') {
        // Counted from the stream's own positions, so a resumed stream reports the whole answer's usage.
        completion = e.index + e.tokens.length;
        // A delta can be empty while a multi-byte character is incomplete; OpenAI sends no empty content chunks.
        if (e.delta) await sseWrite(res, withId(sseEventId(jobId, e.id), sseData(chunks.content(e.delta))));
        continue;
      }
      link.end();
      if (e.finishReason === 'cancelled' && s.shutdown.signal.aborted) {
        await sseWrite(res, sseData(SHUTTING_DOWN));
      } else if (e.finishReason === 'error') {
        await sseWrite(res, sseData({ error: { message: `generation failed: ${e.error ?? 'unknown error'}`, type: 'server_error', param: null, code: 'generation_failed' } }));
      } else {
        await sseWrite(res, withId(sseEventId(jobId, e.id), sseData(chunks.finish(e.finishReason))));
        if (p.includeUsage) await sseWrite(res, sseData(chunks.usage(p.promptTokens, completion)));
      }
      await sseWrite(res, SSE_DONE);
    }
    if (!link.ended && link.timedOut) {
      link.end();
      await fail({ message: `no complete answer within ${s.limits.requestTimeoutMs} ms; the request was cancelled`, type: 'server_error', code: 'timeout' });
    } else if (!link.ended && s.shutdown.signal.aborted) {
      link.end();
      await sseWrite(res, sseData(SHUTTING_DOWN));
      await sseWrite(res, SSE_DONE);
    }
  } catch (err) {
    link.end();
    await fail({ message: `stream failed: ${(err as Error).message}`, type: 'server_error', code: 'stream_failed' });
  } finally {
    link.dispose();
  }
  res.end();
}
