import type { ServerResponse } from 'node:http';
import type { Principal } from '@ivl/client-grpc';
import { ChunkFactory, type PreparedChat, SSE_DONE, sseData, sseHeaders, sseWrite } from '@ivl/openai-api';
import type { GatewayServices } from '../services/gateway-services';

/**
 * Relays a job's token stream as OpenAI chunks: the role chunk at once, a content chunk per delta, the finish
 * chunk, the usage chunk when asked for, then `data: [DONE]`. A client that disconnects early cancels the job,
 * which frees its sequence in the pipeline.
 */
const SHUTTING_DOWN = { error: { message: 'the gateway shut down before the answer was complete', type: 'service_unavailable_error', param: null, code: 'shutting_down' } };

export async function streamCompletion(s: GatewayServices, p: PreparedChat, jobId: string, who: Principal, res: ServerResponse): Promise<void> {
  const chunks = new ChunkFactory(jobId, p.model, Math.floor(Date.now() / 1000), p.includeUsage);
  const abort = new AbortController();
  let ended = false;
  const stop = () => {
    if (ended) return;
    abort.abort();
    s.cancel(jobId, who).catch(() => undefined);
  };
  res.on('close', stop);
  s.shutdown.signal.addEventListener('abort', stop, { once: true });
  res.setHeader('X-Request-Id', jobId);
  sseHeaders(res);
  await sseWrite(res, sseData(chunks.role()));
  let completion = 0;
  try {
    for await (const e of s.stream(jobId, abort.signal)) {
      if (e.kind === 'tokens') {
        completion += e.tokens.length;
        // A delta can be empty while a multi-byte character is incomplete; OpenAI sends no empty content chunks.
        if (e.delta) await sseWrite(res, sseData(chunks.content(e.delta)));
        continue;
      }
      ended = true;
      if (e.finishReason === 'cancelled' && s.shutdown.signal.aborted) {
        await sseWrite(res, sseData(SHUTTING_DOWN));
      } else if (e.finishReason === 'error') {
        await sseWrite(res, sseData({ error: { message: `generation failed: ${e.error ?? 'unknown error'}`, type: 'server_error', param: null, code: 'generation_failed' } }));
      } else {
        await sseWrite(res, sseData(chunks.finish(e.finishReason)));
        if (p.includeUsage) await sseWrite(res, sseData(chunks.usage(p.promptTokens, completion)));
      }
      await sseWrite(res, SSE_DONE);
    }
    if (!ended && s.shutdown.signal.aborted) {
      ended = true;
      await sseWrite(res, sseData(SHUTTING_DOWN));
      await sseWrite(res, SSE_DONE);
    }
  } catch (err) {
    ended = true;
    await sseWrite(res, sseData({ error: { message: `stream failed: ${(err as Error).message}`, type: 'server_error', param: null, code: 'stream_failed' } }));
    await sseWrite(res, SSE_DONE);
  } finally {
    s.shutdown.signal.removeEventListener('abort', stop);
  }
  res.end();
}
