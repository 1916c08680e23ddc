import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, startTestGateway } from './support/gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway('health');
});
afterAll(() => gw.stop());

describe('health, readiness and docs', () => {
  it('healthz answers while the process lives', async () => {
    const r = await gw.get('/healthz');
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok' });
  });

  it('readyz needs a live pipeline on our queue', async () => {
    const notReady = await gw.get('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ status: 'not_ready', redis: true, pipelines: [] });

    // A pipeline of another queue prefix, and a stale one, do not count.
    await gw.redis.hset(gw.pipelinesKey, 'other', JSON.stringify({ id: 'other', ready: true, updatedAt: Date.now(), queuePrefix: 'someone-else' }));
    await gw.redis.hset(gw.pipelinesKey, 'stale', JSON.stringify({ id: 'stale', ready: true, updatedAt: Date.now() - 10_000, queuePrefix: gw.prefix }));
    await gw.redis.hset(gw.pipelinesKey, 'loading', JSON.stringify({ id: 'loading', ready: false, updatedAt: Date.now(), queuePrefix: gw.prefix }));
    expect((await gw.get('/readyz')).status).toBe(503);

    await gw.pipeline(true);
    const ready = await gw.get('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', redis: true });
    await gw.pipeline(false);
  });

  it('serves the OpenAPI document and Swagger UI without auth', async () => {
    const doc = (await (await gw.get('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { properties?: object }> } };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/chat/completions', '/v1/models', '/v1/files', '/v1/files/{file_id}/content', '/v1/batches', '/v1/batches/{batch_id}', '/v1/batches/{batch_id}/cancel', '/healthz', '/readyz', '/v1/completions', '/tokenize', '/detokenize']));
    expect(doc.components.schemas.ChatCompletionRequest.properties).toHaveProperty('max_dynamic_patch');
    const page = await gw.get('/docs');
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('swagger-ui');
    expect((await gw.get('/docs/assets/swagger-ui-bundle.js')).status).toBe(200);
  });

  it('says in its log that auth is off without keys', () => {
    expect(gw.logs.some((l) => l.startsWith('warn') && /authentication is OFF/.test(l))).toBe(true);
  });

  it('lists the served model', async () => {
    const r = (await (await gw.get('/v1/models')).json()) as { object: string; data: Array<{ id: string; object: string; max_model_len: number }> };
    expect(r.object).toBe('list');
    expect(r.data[0]).toMatchObject({ id: 'tiny', object: 'model', owned_by: 'ivl-cluster' });
    expect((await gw.get('/v1/models/tiny')).status).toBe(200);
    expect((await gw.get('/v1/models/gpt-4')).status).toBe(404);
  });
});
