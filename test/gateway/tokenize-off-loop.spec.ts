import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REQUEST_LIMITS, type ServedModel, chatInputFromOpenAI, loadServedModel, tokenizeChat } from '@ivl/openai-api';
import { tinyCheckpoint } from '@ivl/test-support';
import { type TestGateway, expectError, startTestGateway } from './support/gateway';
import { servingClient, unaryCall } from './support/grpc-client';

// One request must not freeze the gateway: prompts are tokenized on a pool of threads, and one that is certainly too
// long (from its bytes) is refused without tokenizing. The tiny checkpoint has Qwen2's tokenizer and a 32,768-token
// context; a run of `a` is 8 letters a token (1 MiB: 131,072 tokens, ~20 s of BPE on one core).
let gw: TestGateway;
let strict: TestGateway;
let model: ServedModel;

const chat = (content: string) => ({ model: 'tiny', messages: [{ role: 'user', content }], max_tokens: 4 });
/** Just over the context once tokenized, but not provably so from its bytes: it has to be tokenized (~2 s). */
const OVER_BY_A_FEW = 'a'.repeat(262_144);

beforeAll(async () => {
  [gw, strict, model] = await Promise.all([
    startTestGateway('tok-pool', { grpcPort: 0 }),
    // One thread, no wait list, a short deadline: the pool's two refusals.
    startTestGateway('tok-strict', { limits: { tokenizerThreads: 1, tokenizerMaxQueued: 0, tokenizeTimeoutMs: 300 } }),
    loadServedModel(tinyCheckpoint(), ['tiny']),
  ]);
  await Promise.all([gw.pipeline(true), strict.pipeline(true)]);
});
afterAll(async () => {
  await Promise.all([gw?.stop(), strict?.stop()]);
});

/** Round trips of each probe, repeated every 50 ms until `work` settles: the slowest of each (ms), and how many. */
async function latenciesDuring(work: Promise<unknown>, probes: Record<string, () => Promise<unknown>>): Promise<Record<string, number> & { samples: number }> {
  let settled = false;
  void work.then(
    () => (settled = true),
    () => (settled = true),
  );
  const worst: Record<string, number> & { samples: number } = { samples: 0 };
  await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      worst[name] = 0;
      while (!settled) {
        const t = performance.now();
        await probe();
        worst[name] = Math.max(worst[name], performance.now() - t);
        if (name === 'healthz') worst.samples++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }),
  );
  return worst;
}

const healthz = (target: TestGateway) => async () => expect((await target.get('/healthz')).status).toBe(200);
const smallTokenize = (target: TestGateway) => async () => expect((await target.post('/tokenize', { model: 'tiny', prompt: 'Hello, world!' })).status).toBe(200);

describe('a long prompt costs its own request, never the event loop', () => {
  it('1 MiB without spaces: 400 context_length_exceeded at once, without tokenizing', async () => {
    const t0 = performance.now();
    const big = gw.post('/v1/chat/completions', chat('a'.repeat(1 << 20)));
    const during = await latenciesDuring(big, { healthz: healthz(gw), tokenize: smallTokenize(gw) });
    const ms = performance.now() - t0;
    const body = await expectError(await big, 400, 'context_length_exceeded', 'messages');
    expect(body.error.message).toMatch(/at least 13\d{4} tokens long/);
    console.log(`1 MiB: refused in ${ms.toFixed(0)} ms; slowest /healthz ${during.healthz.toFixed(1)} ms, /tokenize ${during.tokenize.toFixed(1)} ms`);
    expect(ms).toBeLessThan(2000);
    expect(during.healthz).toBeLessThan(500);
  });

  it('256 KiB without spaces is tokenized on the pool: /healthz and a small request answer meanwhile, then its 400', async () => {
    const t0 = performance.now();
    const big = gw.post('/v1/chat/completions', chat(OVER_BY_A_FEW));
    const during = await latenciesDuring(big, { healthz: healthz(gw), tokenize: smallTokenize(gw) });
    const ms = performance.now() - t0;
    const body = await expectError(await big, 400, 'context_length_exceeded', 'messages');
    expect(body.error.message).toMatch(/resulted in 3[23]\d{3} tokens/);
    console.log(`256 KiB: 400 after ${ms.toFixed(0)} ms of tokenizing; ${during.samples} samples, slowest /healthz ${during.healthz.toFixed(1)} ms, small /tokenize ${during.tokenize.toFixed(1)} ms`);
    expect(during.samples).toBeGreaterThan(5);
    expect(during.healthz).toBeLessThan(500);
    // The other thread is free for it.
    expect(during.tokenize).toBeLessThan(500);
  });

  it('the same over gRPC: INVALID_ARGUMENT context_length_exceeded, and gRPC calls answer meanwhile', async () => {
    const client = servingClient(gw.grpcPort!);
    try {
      const big = unaryCall(client, 'Submit', { model: 'tiny', messages: [{ role: 'user', content: OVER_BY_A_FEW }] }).catch((e: grpc.ServiceError) => e);
      const during = await latenciesDuring(big, { healthz: healthz(gw), models: () => unaryCall(client, 'ListModels', {}) });
      const g = (await big) as grpc.ServiceError;
      expect(g.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(g.metadata.get('error-code')).toEqual(['context_length_exceeded']);
      console.log(`256 KiB over gRPC: ${during.samples} samples, slowest /healthz ${during.healthz.toFixed(1)} ms, ListModels ${during.models.toFixed(1)} ms`);
      expect(during.healthz).toBeLessThan(500);
      expect(during.models).toBeLessThan(500);
    } finally {
      client.close();
    }
  });

  it('64 KiB without spaces is within the context and tokenizes exactly as on the calling thread', async () => {
    const text = 'a'.repeat(65_536);
    const req = { model: 'tiny', messages: [{ role: 'user', content: text }] };
    const t0 = performance.now();
    const pending = gw.post('/tokenize', req);
    const during = await latenciesDuring(pending, { healthz: healthz(gw) });
    const res = await pending;
    console.log(`64 KiB: tokenized in ${(performance.now() - t0).toFixed(0)} ms; slowest /healthz ${during.healthz.toFixed(1)} ms`);
    expect(during.healthz).toBeLessThan(500);
    expect(res.status).toBe(200);
    const got = (await res.json()) as { count: number; tokens: number[] };
    const expected = await tokenizeChat(chatInputFromOpenAI(req), { model, limits: DEFAULT_REQUEST_LIMITS });
    expect(got.tokens).toEqual(expected);
    expect(got.count).toBeGreaterThan(8192);
    const raw = (await (await gw.post('/tokenize', { model: 'tiny', prompt: text })).json()) as { tokens: number[] };
    expect(raw.tokens).toEqual(model.tokenizer.encode(text));
    const back = (await (await gw.post('/detokenize', { model: 'tiny', tokens: raw.tokens })).json()) as { prompt: string };
    expect(back.prompt).toBe(text);
  });

  it('a prompt past the tokenize deadline is a 400, a full pool a 503 with Retry-After, and the pool serves on', async () => {
    const slow = strict.post('/v1/completions', { model: 'tiny', prompt: OVER_BY_A_FEW, max_tokens: 1 });
    await new Promise((r) => setTimeout(r, 100));
    const busy = await strict.post('/v1/chat/completions', chat('Hello'));
    await expectError(busy, 503, 'tokenizer_busy');
    expect(busy.headers.get('retry-after')).toBe('1');
    await expectError(await slow, 400, 'prompt_too_complex', 'prompt');
    // The stuck thread was ended; its replacement loads the tokenizer (~1 s), refusing meanwhile (no wait list here).
    let ok = await strict.post('/tokenize', { model: 'tiny', prompt: 'Hello, world!' });
    for (let i = 0; ok.status === 503 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ok = await strict.post('/tokenize', { model: 'tiny', prompt: 'Hello, world!' });
    }
    expect(((await ok.json()) as { tokens: number[] }).tokens).toEqual(model.tokenizer.encode('Hello, world!'));
  });
});
