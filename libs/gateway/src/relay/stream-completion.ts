import type { ServerResponse } from 'node:http';
import type { Principal } from '@ivl/client-grpc';
import { ChunkFactory, type PreparedChat, SSE_DONE, ToolCallStream, openaiLogprobs, sseData, sseHeaders, sseWrite } from '@ivl/openai-api';
import type { TokenEvent } from '@ivl/queue';
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

const withId = (id: string | undefined, frame: string) => (id ? `id: ${id}\n${frame}` : frame);

/**
 * Relays a request's token streams (one job per choice) as OpenAI chunks: a role chunk per choice at once, content
 * (and logprobs) chunks per delta, tool calls as whole deltas once their `</tool_call>` arrives, a finish chunk per
 * choice, the usage chunk when asked for, then `data: [DONE]`.
 *
 * With one choice every content chunk carries an SSE `id:`; a client that lost the connection sends the same request
 * again with `Last-Event-ID` and gets the rest of the same answer (`resumeFrom`), with nothing repeated. A client that
 * disconnects and does not come back within the resume window cancels the jobs (at once when n > 1, which has no
 * resume); a stream past the request timeout ends with a timeout error and cancels them too.
 */
export async function streamCompletion(s: GatewayServices, p: PreparedChat, jobIds: string | string[], who: Principal, res: ServerResponse, resumeFrom?: string): Promise<void> {
  const ids = Array.isArray(jobIds) ? jobIds : [jobIds];
  const resumable = ids.length === 1;
  const chunks = new ChunkFactory(ids[0], p.model, Math.floor(Date.now() / 1000), p.includeUsage);
  const links = ids.map((id) => cancelOnDisconnect(s, id, who, res, { resumeMs: resumable ? s.limits.streamResumeMs : 0, timeoutMs: s.limits.requestTimeoutMs }));
  res.setHeader('X-Request-Id', ids[0]);
  sseHeaders(res);
  // Choices write concurrently; one chain keeps their chunks whole and in order.
  let writing: Promise<unknown> = Promise.resolve();
  const write = (data: string) => (writing = writing.then(() => sseWrite(res, data)));
  if (!resumeFrom) for (let i = 0; i < ids.length; i++) await write(sseData(chunks.role(i)));
  // Counted from each stream's own positions, so a resumed stream reports the whole answer's usage.
  const completion = ids.map(() => 0);
  const cached = ids.map(() => 0);
  let failure: object | undefined;
  const relay = async (index: number): Promise<void> => {
    const link = links[index];
    const jobId = ids[index];
    const eventId = (entry: string) => (resumable ? sseEventId(jobId, entry) : undefined);
    const tools = p.tools && p.tools.choice !== 'none' ? new ToolCallStream() : undefined;
    let calls = 0;
    const text = (delta: string, e?: Extract<TokenEvent, { kind: 'tokens' }>) => {
      const lp = p.logprobs && e?.logprobs?.length ? openaiLogprobs(s.model.tokenizer, e.logprobs) : null;
      // A delta can be empty while a multi-byte character is incomplete; OpenAI sends no empty content chunks.
      if (delta || (lp && lp.content.length)) void write(withId(e && eventId(e.id), sseData(chunks.content(delta, index, lp))));
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
    for await (const e of s.stream(jobId, link.signal, resumable ? (resumeFrom ?? '0') : '0')) {
      if (e.kind === 'tokens') {
        completion[index] = e.index + e.tokens.length;
        if (tools) split(tools.push(e.delta), e);
        else text(e.delta, e);
        continue;
      }
      link.end();
      cached[index] = e.cachedTokens ?? 0;
      if (tools) split(tools.flush());
      if (e.finishReason === 'cancelled' && s.shutdown.signal.aborted) failure ??= SHUTTING_DOWN;
      else if (e.finishReason === 'error') {
        failure ??= { error: { message: `generation failed: ${e.error ?? 'unknown error'}`, type: 'server_error', param: null, code: 'generation_failed' } };
      } else await write(withId(eventId(e.id), sseData(chunks.finish(calls && e.finishReason === 'stop' ? 'tool_calls' : e.finishReason, index))));
    }
    if (!link.ended && link.timedOut) {
      link.end();
      failure ??= { error: { message: `no complete answer within ${s.limits.requestTimeoutMs} ms; the request was cancelled`, type: 'server_error', param: null, code: 'timeout' } };
    } else if (!link.ended && s.shutdown.signal.aborted) {
      link.end();
      failure ??= SHUTTING_DOWN;
    }
    if (failure) {
      // One choice failed: stop following the others and free their sequences.
      links.forEach((l) => l.abort());
      ids.forEach((id, j) => j !== index && void s.cancel(id, who).catch(() => undefined));
    }
  };
  try {
    await Promise.all(ids.map((_, i) => relay(i)));
    await writing;
    if (failure) await write(sseData(failure));
    else if (p.includeUsage && links.every((l) => l.ended)) await write(sseData(chunks.usage(p.promptTokens, completion.reduce((a, b) => a + b, 0), cached[0])));
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
