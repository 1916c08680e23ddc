import type { ServerResponse } from 'node:http';
import type { Principal } from '@ivl/client-grpc';
import { ChunkFactory, type PreparedChat, SSE_DONE, ToolCallStream, openaiLogprobs, sseData, sseHeaders, sseWrite } from '@ivl/openai-api';
import type { TokenEvent } from '@ivl/queue';
import type { GatewayServices } from '../services/gateway-services';
import { cancelOnDisconnect } from './cancel-on-disconnect';

/**
 * Relays a request's token streams (one job per choice) as OpenAI chunks: a role chunk per choice at once, content
 * (and logprobs) chunks per delta, tool calls as whole deltas once their `</tool_call>` arrives, a finish chunk per
 * choice, the usage chunk when asked for, then `data: [DONE]`. A client that disconnects early cancels the jobs,
 * which frees their sequences in the pipeline.
 */
const SHUTTING_DOWN = { error: { message: 'the gateway shut down before the answer was complete', type: 'service_unavailable_error', param: null, code: 'shutting_down' } };

export async function streamCompletion(s: GatewayServices, p: PreparedChat, jobIds: string | string[], who: Principal, res: ServerResponse): Promise<void> {
  const ids = Array.isArray(jobIds) ? jobIds : [jobIds];
  const chunks = new ChunkFactory(ids[0], p.model, Math.floor(Date.now() / 1000), p.includeUsage);
  const links = ids.map((id) => cancelOnDisconnect(s, id, who, res));
  res.setHeader('X-Request-Id', ids[0]);
  sseHeaders(res);
  // Choices write concurrently; one chain keeps their chunks whole and in order.
  let writing: Promise<unknown> = Promise.resolve();
  const write = (data: string) => (writing = writing.then(() => sseWrite(res, data)));
  for (let i = 0; i < ids.length; i++) await write(sseData(chunks.role(i)));
  let completion = 0;
  let failure: object | undefined;
  const relay = async (index: number): Promise<void> => {
    const link = links[index];
    const tools = p.tools && p.tools.choice !== 'none' ? new ToolCallStream() : undefined;
    let calls = 0;
    const text = (delta: string, e?: Extract<TokenEvent, { kind: 'tokens' }>) => {
      const lp = p.logprobs && e?.logprobs?.length ? openaiLogprobs(s.model.tokenizer, e.logprobs) : null;
      // A delta can be empty while a multi-byte character is incomplete; OpenAI sends no empty content chunks.
      if (delta || (lp && lp.content.length)) void write(sseData(chunks.content(delta, index, lp)));
    };
    const split = (events: ReturnType<ToolCallStream['push']>, e?: Extract<TokenEvent, { kind: 'tokens' }>) => {
      let first = true;
      for (const ev of events) {
        if (ev.kind === 'text') text(ev.text, first ? e : undefined);
        else void write(sseData(chunks.toolCall({ index: calls++, ...ev.call }, index)));
        first = false;
      }
      if (first && e) text('', e);
    };
    for await (const e of s.stream(ids[index], link.signal)) {
      if (e.kind === 'tokens') {
        completion += e.tokens.length;
        if (tools) split(tools.push(e.delta), e);
        else text(e.delta, e);
        continue;
      }
      link.end();
      if (tools) split(tools.flush());
      if (e.finishReason === 'cancelled' && s.shutdown.signal.aborted) failure ??= SHUTTING_DOWN;
      else if (e.finishReason === 'error') {
        failure ??= { error: { message: `generation failed: ${e.error ?? 'unknown error'}`, type: 'server_error', param: null, code: 'generation_failed' } };
      } else await write(sseData(chunks.finish(calls && e.finishReason === 'stop' ? 'tool_calls' : e.finishReason, index)));
      if (failure) {
        // One choice failed: stop following the others and free their sequences.
        links.forEach((l) => l.abort());
        ids.forEach((id, j) => j !== index && void s.cancel(id, who).catch(() => undefined));
      }
    }
    if (!link.ended && s.shutdown.signal.aborted) {
      link.end();
      failure ??= SHUTTING_DOWN;
    }
  };
  try {
    await Promise.all(ids.map((_, i) => relay(i)));
    await writing;
    if (failure) await write(sseData(failure));
    else if (p.includeUsage && links.every((l) => l.ended)) await write(sseData(chunks.usage(p.promptTokens, completion)));
    if (links.every((l) => l.ended) || failure) await write(SSE_DONE);
  } catch (err) {
    links.forEach((l) => l.end());
    await writing.catch(() => undefined);
    await sseWrite(res, sseData({ error: { message: `stream failed: ${(err as Error).message}`, type: 'server_error', param: null, code: 'stream_failed' } }));
    await sseWrite(res, SSE_DONE);
  } finally {
    links.forEach((l) => l.dispose());
  }
  res.end();
}
