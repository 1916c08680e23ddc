import { afterAll, describe, expect, it } from 'vitest';
import { type TestGateway, expectError, startTestGateway } from './support/gateway';

const chat = { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 };
const started: TestGateway[] = [];
const gateway = async (label: string, opts: Parameters<typeof startTestGateway>[1]) => {
  const g = await startTestGateway(label, opts);
  started.push(g);
  return g;
};
afterAll(() => Promise.all(started.map((g) => g.stop())));

describe('API keys', () => {
  it('401 without a key or with a wrong one; probes and docs stay open', async () => {
    const gw = await gateway('auth', { apiKeys: ['sk-right', 'sk-other'] });
    const noKey = await fetch(`${gw.url}/v1/models`);
    expect(noKey.headers.get('www-authenticate')).toBe('Bearer');
    const body = await expectError(noKey, 401, 'invalid_api_key');
    expect(body.error.type).toBe('authentication_error');
    await expectError(await fetch(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer sk-wrong' } }), 401, 'invalid_api_key');
    await expectError(await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat) }), 401, 'invalid_api_key');
    expect((await fetch(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer sk-other' } })).status).toBe(200);
    expect((await gw.get('/v1/models')).status).toBe(200);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/openapi.json`)).status).toBe(200);
    expect(gw.logs.some((l) => /authentication is OFF/.test(l))).toBe(false);
  });
});

describe('rate limit per key', () => {
  it('429 rate_limit_exceeded with Retry-After once the key used its requests', async () => {
    const gw = await gateway('rate', { apiKeys: ['sk-a', 'sk-b'], limits: { rateLimitPerMinute: 2 } });
    const a = { authorization: 'Bearer sk-a' };
    const first = await gw.get('/v1/models', a);
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect((await gw.get('/v1/models', a)).status).toBe(200);
    const limited = await gw.get('/v1/models', a);
    const retry = Number(limited.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    const body = await expectError(limited, 429, 'rate_limit_exceeded');
    expect(body.error.type).toBe('rate_limit_error');
    // Another key has its own budget.
    expect((await gw.get('/v1/models', { authorization: 'Bearer sk-b' })).status).toBe(200);
  });
});

describe('admission', () => {
  it('503 with Retry-After while no pipeline is ready; nothing is queued', async () => {
    const gw = await gateway('nopipe', {});
    const r = await gw.post('/v1/chat/completions', chat);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    await expectError(r, 503, 'no_pipeline_ready');
    expect((await gw.queue.counts()).waiting).toBe(0);
  });

  it('a full queue answers 429 queue_full with Retry-After; batch jobs do not count', async () => {
    const gw = await gateway('full', { limits: { maxQueued: 2, queueRetryAfterSeconds: 3 } });
    await gw.pipeline(true);
    // No worker consumes this queue: these two jobs stay waiting.
    await gw.queue.submit({ input: { question: 'a' } });
    await gw.queue.submit({ input: { question: 'b' } });
    const r = await gw.post('/v1/chat/completions', chat);
    expect(r.headers.get('retry-after')).toBe('3');
    await expectError(r, 429, 'queue_full');
    expect((await gw.queue.counts()).waiting).toBe(2);
    // Batch jobs (prioritized) do not take the interactive places.
    await gw.queue.queue.obliterate({ force: true });
    await gw.queue.submit({ input: { question: 'c' } }, { priority: 10 });
    await gw.queue.submit({ input: { question: 'd' } }, { priority: 10 });
    const ok = await gw.post('/v1/chat/completions', { ...chat, stream: true });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });
});
