import OpenAI, { toFile } from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { type TestGateway, expectError, startTestGateway } from './support/gateway';
import { startFakeWorker } from './support/fake-worker';

const started: Array<{ stop(): Promise<void> }> = [];
afterAll(async () => {
  for (const s of started.reverse()) await s.stop();
});
async function gateway(label: string, opts: Parameters<typeof startTestGateway>[1] = {}, shared?: { prefix: string }) {
  const g = await startTestGateway(label, opts, shared);
  started.push(g);
  return g;
}
const client = (gw: TestGateway) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
const line = (id: string, body: Record<string, unknown> = {}) =>
  JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'tiny', messages: [{ role: 'user', content: `request ${id}` }], max_tokens: 8, ...body } });

async function upload(gw: TestGateway, text: string, purpose = 'batch', filename = 'input.jsonl'): Promise<Response> {
  const form = new FormData();
  form.set('purpose', purpose);
  form.set('file', new Blob([text]), filename);
  return fetch(`${gw.url}/v1/files`, { method: 'POST', body: form });
}

async function waitFor(c: OpenAI, id: string, statuses: string[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const b = await c.batches.retrieve(id);
    if (statuses.includes(b.status)) return b;
    if (Date.now() > deadline) throw new Error(`batch ${id} is ${b.status}, not ${statuses.join('/')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('batch input files are checked at upload', () => {
  it('refuses broken files with the line number, and wrong purposes and sizes', async () => {
    const gw = await gateway('files', { limits: { maxFileBytes: 2000 } });
    const bad: Array<[string, RegExp]> = [
      [`${line('a')}\n{not json`, /line 2 is not valid JSON/],
      [`${line('a')}\n${line('a')}`, /line 2: custom_id "a" is used more than once/],
      [JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/embeddings', body: {} }), /line 1: url must be/],
      [JSON.stringify({ method: 'POST', url: '/v1/chat/completions', body: {} }), /line 1: custom_id/],
      [line('s', { stream: true }), /line 1: body.stream/],
      ['\n\n', /no requests/],
    ];
    for (const [text, message] of bad) {
      const body = await expectError(await upload(gw, text), 400, 'invalid_batch_file', 'file');
      expect(body.error.message).toMatch(message);
    }
    await expectError(await upload(gw, line('a'), 'fine-tune'), 400, 'invalid_value', 'purpose');
    await expectError(await upload(gw, Array.from({ length: 30 }, (_, i) => line(`r${i}`)).join('\n')), 413, 'file_too_large');
    await expectError(await fetch(`${gw.url}/v1/files`, { method: 'POST', body: new FormData() }), 400, 'missing_required_parameter', 'file');
    await expectError(await gw.get('/v1/files/file-nope'), 404, 'file_not_found');
    await expectError(await gw.post('/v1/batches', { input_file_id: 'file-nope', endpoint: '/v1/chat/completions', completion_window: '24h' }), 404, 'file_not_found', 'input_file_id');

    const ok = (await (await upload(gw, `${line('a')}\n${line('b')}\n`)).json()) as { id: string; object: string; purpose: string; bytes: number };
    expect(ok).toMatchObject({ object: 'file', purpose: 'batch', status: 'processed' });
    expect(await (await gw.get(`/v1/files/${ok.id}/content`)).text()).toBe(`${line('a')}\n${line('b')}\n`);
    await expectError(await gw.post('/v1/batches', { input_file_id: ok.id, endpoint: '/v1/completions', completion_window: '24h' }), 400, 'invalid_value', 'endpoint');
    await expectError(await gw.post('/v1/batches', { input_file_id: ok.id, endpoint: '/v1/chat/completions', completion_window: '1h' }), 400, 'invalid_value', 'completion_window');
  });
});

describe('batches run as queue jobs', () => {
  it('upload → batch → output and error files, through the openai client', async () => {
    const gw = await gateway('batch');
    const worker = startFakeWorker(gw.prefix);
    started.push(worker);
    const c = client(gw);
    // A schema-invalid body fails its own line into the error file; it does not reject the file.
    const text = [line('first'), line('bad-model', { model: 'gpt-4o' }), line('second', { max_tokens: 2 }), line('bad-temperature', { temperature: 5 })].join('\n');
    const file = await c.files.create({ file: await toFile(Buffer.from(text), 'requests.jsonl'), purpose: 'batch' });
    const created = await c.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { job: 'nightly' } });
    expect(created).toMatchObject({ object: 'batch', status: 'validating', input_file_id: file.id, metadata: { job: 'nightly' } });
    const done = await waitFor(c, created.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 4, completed: 2, failed: 2 });
    expect(done.completed_at).toBeGreaterThan(0);

    const out = (await (await c.files.content(done.output_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((l) => l.custom_id)).toEqual(['first', 'second']);
    expect(out[0].response.status_code).toBe(200);
    expect(out[0].response.body).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: worker.words.join('') }, finish_reason: 'stop' }] });
    expect(out[1].response.body.choices[0]).toMatchObject({ message: { content: 'Hello from' }, finish_reason: 'length' });
    const errors = (await (await c.files.content(done.error_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(errors).toHaveLength(2);
    expect(errors).toContainEqual(expect.objectContaining({ custom_id: 'bad-model', response: expect.objectContaining({ status_code: 404, body: { error: expect.objectContaining({ code: 'model_not_found' }) } }) }));
    expect(errors).toContainEqual(expect.objectContaining({ custom_id: 'bad-temperature', response: expect.objectContaining({ status_code: 400, body: { error: expect.objectContaining({ code: 'invalid_value', param: 'temperature' }) } }) }));
    // The bad line never became a job; batch jobs are prioritized below interactive ones.
    expect(worker.seen.map((j) => j.input.question)).toEqual(expect.arrayContaining(['request first', 'request second']));
    expect(worker.seen).toHaveLength(2);

    const list = await c.batches.list();
    expect(list.data.map((b) => b.id)).toContain(created.id);
  });

  it('cancel removes queued lines and ends cancelled', async () => {
    const gw = await gateway('cancel');
    const c = client(gw);
    const file = await c.files.create({ file: await toFile(Buffer.from([line('a'), line('b'), line('c')].join('\n')), 'in.jsonl'), purpose: 'batch' });
    const b = await c.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitFor(c, b.id, ['in_progress']);
    await expect.poll(async () => (await gw.queue.counts()).prioritized, { timeout: 5000 }).toBe(3);
    const cancelling = await c.batches.cancel(b.id);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    const done = await waitFor(c, b.id, ['cancelled']);
    expect(done.cancelled_at).toBeGreaterThan(0);
    expect(done.output_file_id).toBeNull();
    expect((await gw.queue.counts()).prioritized).toBe(0);
    // Idempotent once ended.
    expect((await c.batches.cancel(b.id)).status).toBe('cancelled');
  });

  it('a batch survives a gateway restart, and two gateways never run a line twice', async () => {
    const a = await gateway('restart', { batchProcessor: false });
    const c = client(a);
    const lines = Array.from({ length: 20 }, (_, i) => line(`r${i}`));
    const file = await c.files.create({ file: await toFile(Buffer.from(lines.join('\n')), 'in.jsonl'), purpose: 'batch' });
    const b = await c.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await a.close(1000);
    // Two fresh gateways on the same queue take over; both run a batch processor.
    const g1 = await gateway('restart', {}, { prefix: a.prefix });
    const g2 = await gateway('restart', {}, { prefix: a.prefix });
    const worker = startFakeWorker(a.prefix, { delayMs: 5 });
    started.push(worker);
    const done = await waitFor(client(g2), b.id, ['completed']);
    expect(done.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
    const out = (await (await client(g1).files.content(done.output_file_id!)).text()).trim().split('\n');
    expect(out.map((l) => JSON.parse(l).custom_id)).toEqual(lines.map((_, i) => `r${i}`));
    expect(worker.seen).toHaveLength(20);
  });

  it('files and batches belong to the key that made them', async () => {
    const gw = await gateway('owner', { apiKeys: ['sk-1', 'sk-2'] });
    const one = { authorization: 'Bearer sk-1' };
    const form = new FormData();
    form.set('purpose', 'batch');
    form.set('file', new Blob([line('a')]), 'x.jsonl');
    const f = (await (await fetch(`${gw.url}/v1/files`, { method: 'POST', body: form, headers: one })).json()) as { id: string };
    expect((await gw.get(`/v1/files/${f.id}`, one)).status).toBe(200);
    await expectError(await gw.get(`/v1/files/${f.id}`, { authorization: 'Bearer sk-2' }), 404, 'file_not_found');
  });
});
