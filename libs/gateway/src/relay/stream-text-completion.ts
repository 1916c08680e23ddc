import type { ServerResponse } from 'node:http';
import type { Principal } from '@ivl/client-grpc';
import { type PreparedCompletion, SSE_DONE, legacyLogprobs, sseData, sseHeaders, sseWrite, textChunk, usage } from '@ivl/openai-api';
import type { GatewayServices } from '../services/gateway-services';
import { cancelOnDisconnect } from './cancel-on-disconnect';

/** Relays /v1/completions token streams as text_completion chunks (one job per choice), then `data: [DONE]`. */
export async function streamTextCompletion(s: GatewayServices, p: PreparedCompletion, ids: string[], who: Principal, res: ServerResponse): Promise<void> {
  const created = Math.floor(Date.now() / 1000);
  const links = ids.map((id) => cancelOnDisconnect(s, id, who, res));
  res.setHeader('X-Request-Id', ids[0]);
  sseHeaders(res);
  let writing: Promise<unknown> = Promise.resolve();
  const write = (data: string) => (writing = writing.then(() => sseWrite(res, data)));
  let completion = 0;
  // Prompt tokens the prefix cache served, as the first choice reports them (the prompt is counted once).
  let cached = 0;
  let failure: object | undefined;
  const relay = async (index: number) => {
    let offset = 0;
    if (p.echo) {
      void write(sseData(textChunk(ids[0], p.model, created, index, p.prompt, null)));
      offset = p.prompt.length;
    }
    for await (const e of s.stream(ids[index], links[index].signal)) {
      if (e.kind === 'tokens') {
        completion += e.tokens.length;
        const lp = p.logprobs && e.logprobs ? legacyLogprobs(s.model.tokenizer, e.logprobs, offset) : null;
        offset += e.delta.length;
        if (e.delta || lp?.tokens.length) void write(sseData(textChunk(ids[0], p.model, created, index, e.delta, null, lp)));
        continue;
      }
      links[index].end();
      if (index === 0) cached = e.cachedTokens ?? 0;
      if (e.finishReason === 'error' || (e.finishReason === 'cancelled' && s.shutdown.signal.aborted)) {
        failure ??= { error: { message: e.finishReason === 'error' ? `generation failed: ${e.error ?? 'unknown error'}` : 'the gateway shut down before the answer was complete', type: 'server_error', param: null, code: e.finishReason === 'error' ? 'generation_failed' : 'shutting_down' } };
        links.forEach((l) => l.abort());
        ids.forEach((id, j) => j !== index && void s.cancel(id, who).catch(() => undefined));
      } else void write(sseData(textChunk(ids[0], p.model, created, index, '', e.finishReason)));
    }
  };
  try {
    await Promise.all(ids.map((_, i) => relay(i)));
    await writing;
    if (failure) await write(sseData(failure));
    else if (p.includeUsage && links.every((l) => l.ended)) {
      await write(sseData({ id: `cmpl-${ids[0]}`, object: 'text_completion', created, model: p.model, choices: [], usage: usage(p.promptTokens, completion, cached) }));
    }
    if (failure || links.every((l) => l.ended)) await write(SSE_DONE);
  } catch (err) {
    await writing.catch(() => undefined);
    await sseWrite(res, sseData({ error: { message: `stream failed: ${(err as Error).message}`, type: 'server_error', param: null, code: 'stream_failed' } }));
    await sseWrite(res, SSE_DONE);
  } finally {
    links.forEach((l) => l.dispose());
  }
  res.end();
}
