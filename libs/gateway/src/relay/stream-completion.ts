import type { ServerResponse } from 'node:http';
import type { Principal } from '@ivl/client-grpc';
import { ChunkFactory, type PreparedChat, SSE_DONE, sseData, sseHeaders, sseWrite } from '@ivl/openai-api';
import type { GatewayServices } from '../services/gateway-services';
import { cancelOnDisconnect } from './cancel-on-disconnect';

/**
 * Relays a job's token stream as OpenAI chunks: the role chunk at once, a content chunk per delta, the finish
 * chunk, the usage chunk when asked for, then `data: [DONE]`. A client that disconnects early cancels the job,
 * which frees its sequence in the pipeline.
 */
const SHUTTING_DOWN = { error: { message: 'the gateway shut down before the answer was complete', type: 'service_unavailable_error', param: null, code: 'shutting_down' } };

export async function streamCompletion(s: GatewayServices, p: PreparedChat, jobId: string, who: Principal, res: ServerResponse): Promise<void> {
  const chunks = new ChunkFactory(jobId, p.model, Math.floor(Date.now() / 1000), p.includeUsage);
  const link = cancelOnDisconnect(s, jobId, who, res);
  res.setHeader('X-Request-Id', jobId);
  sseHeaders(res);
  await sseWrite(res, sseData(chunks.role()));
  let completion = 0;
  try {
    for await (const e of s.stream(jobId, link.signal)) {
      if (e.kind === 'tokens') {
        completion += e.tokens.length;
        // A delta can be empty while a multi-byte character is incomplete; OpenAI sends no empty content chunks.
        if (e.delta) await sseWrite(res, sseData(chunks.content(e.delta)));
        continue;
      }
      link.end();
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
    if (!link.ended && s.shutdown.signal.aborted) {
      link.end();
      await sseWrite(res, sseData(SHUTTING_DOWN));
      await sseWrite(res, SSE_DONE);
    }
  } catch (err) {
    link.end();
    await sseWrite(res, sseData({ error: { message: `stream failed: ${(err as Error).message}`, type: 'server_error', param: null, code: 'stream_failed' } }));
    await sseWrite(res, SSE_DONE);
  } finally {
    link.dispose();
  }
  res.end();
}
