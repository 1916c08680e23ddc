import * as grpc from '@grpc/grpc-js';
import IORedis from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayHandle, startGateway } from '@ivl/gateway';
import { startRedisServer } from '@ivl/local-cluster';
import { keys } from '@ivl/queue';
import { tinyCheckpoint } from '@ivl/test-support';
import { type TestGateway, expectError, startTestGateway } from './support/gateway';
import { startFakeWorker } from './support/fake-worker';
import { servingClient } from './support/grpc-client';
import { readSse } from './support/sse';

const request = { model: 'tiny', messages: [{ role: 'user', content: 'Say hello.' }], temperature: 0 };

/** Reads an SSE response into { id, data } events (the id line, when present, precedes the data line). */
async function readEvents(res: Response, stopAfter = Infinity): Promise<Array<{ id?: string; data: any }>> {
  const out: Array<{ id?: string; data: any }> = [];
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let content = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return out;
    buf += dec.decode(value, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, at).split('\n');
      buf = buf.slice(at + 2);
      const id = block.find((l) => l.startsWith('id: '))?.slice(4);
      const data = block.find((l) => l.startsWith('data: '))?.slice(6);
      if (data === undefined) continue;
      const e = { id, data: data === '[DONE]' ? data : JSON.parse(data) };
      out.push(e);
      if (e.data?.choices?.[0]?.delta?.content && ++content >= stopAfter) {
        await reader.cancel();
        return out;
      }
    }
  }
}

const text = (events: Array<{ data: any }>) => events.map((e) => e.data?.choices?.[0]?.delta?.content ?? '').join('');

describe('streams: SSE ids, resume with Last-Event-ID, timeout', () => {
  let gw: TestGateway;
  let worker: ReturnType<typeof startFakeWorker>;
  const words = Array.from({ length: 30 }, (_, i) => ` w${i}`);
  beforeAll(async () => {
    gw = await startTestGateway('resume');
    await gw.pipeline(true);
    worker = startFakeWorker(gw.prefix, { words, delayMs: 25 });
  });
  afterAll(async () => {
    await worker.stop();
    await gw.stop();
  });

  it('a client that lost the connection resumes the same answer from its Last-Event-ID, nothing repeated', async () => {
    const body = { ...request, stream: true, stream_options: { include_usage: true } };
    const first = await readEvents(await gw.post('/v1/chat/completions', body), 5);
    const lastId = first.filter((e) => e.id).at(-1)!.id!;
    expect(lastId).toMatch(/^[0-9a-f]{32}\/\d+-\d+$/);
    const jobId = lastId.split('/')[0];
    // Reconnect after a pause shorter than the resume window: the job was not cancelled meanwhile.
    await new Promise((r) => setTimeout(r, 300));
    const rest = await readEvents(await gw.post('/v1/chat/completions', body, { 'last-event-id': lastId }));
    expect(rest.at(-1)!.data).toBe('[DONE]');
    expect(text(first) + text(rest)).toBe(words.join(''));
    const ids = [...first, ...rest].map((e) => e.id).filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
    const finish = rest.find((e) => e.data?.choices?.[0]?.finish_reason);
    expect(finish!.data.choices[0].finish_reason).toBe('stop');
    // Usage counts the whole answer, not only the resumed part.
    expect(rest.at(-2)!.data.usage.completion_tokens).toBe(words.length);
    expect(await gw.redis.exists(keys.cancel(jobId))).toBe(0);
  });

  it('a Last-Event-ID that names someone else\'s or no job is a 404, not a new job', async () => {
    const r = await gw.post('/v1/chat/completions', { ...request, stream: true }, { 'last-event-id': `${'0'.repeat(32)}/1-0` });
    await expectError(r, 404, 'job_not_found', 'Last-Event-ID');
  });

  it('a stream past the request timeout ends with a timeout error and cancels its job', async () => {
    const slow = await startTestGateway('stream-timeout', { limits: { requestTimeoutMs: 300 } }, { prefix: gw.prefix });
    try {
      const events = await readEvents(await slow.post('/v1/chat/completions', { ...request, stream: true }));
      expect(events.at(-1)!.data).toBe('[DONE]');
      expect(events.at(-2)!.data.error).toMatchObject({ code: 'timeout', type: 'server_error' });
      const jobId = events.find((e) => e.id)!.id!.split('/')[0];
      await expect.poll(async () => (await gw.queue.status(jobId)).result?.finishReason, { timeout: 5000 }).toBe('cancelled');
    } finally {
      await slow.stop();
    }
  });

  it('many concurrent streams add no listener per stream to a shared signal (no MaxListenersExceededWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const all = await Promise.all(Array.from({ length: 16 }, () => gw.post('/v1/chat/completions', { ...request, stream: true, max_tokens: 3 }).then((r) => readSse(r))));
      expect(all.every((e) => e.at(-1) === '[DONE]')).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('images are decode-checked before queueing', () => {
  it('a truncated PNG is a 422 invalid_image, not a failed job', async () => {
    const gw = await startTestGateway('truncated');
    try {
      await gw.pipeline(true);
      const png = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 10, g: 200, b: 30 } } })
        .composite([{ input: Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 37) % 256)), raw: { width: 64, height: 64, channels: 3 }, left: 10, top: 10 }])
        .png()
        .toBuffer();
      const cut = png.subarray(0, Math.floor(png.length * 0.6));
      const body = { ...request, messages: [{ role: 'user', content: [{ type: 'text', text: 'What?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${cut.toString('base64')}` } }] }] };
      const e = await expectError(await gw.post('/v1/chat/completions', body), 422, 'invalid_image', 'messages[0].content[1].image_url');
      expect(e.error.message).toMatch(/truncated or corrupt/);
      expect((await gw.queue.counts()).waiting).toBe(0);
    } finally {
      await gw.stop();
    }
  });
});

describe('gRPC Generate cancelled by a client that stopped reading', () => {
  it('the handler ends, its Redis reader is released, the job is cancelled', async () => {
    const gw = await startTestGateway('grpc-backpressure');
    await gw.pipeline(true);
    // Large deltas, fast: the client's HTTP/2 window fills within a fraction of a second and the server's write()
    // returns false, while the job runs long enough (6,000 entries, ≥ 6 s) to be still running at the cancel.
    const worker = startFakeWorker(gw.prefix, { words: Array.from({ length: 6000 }, (_, i) => `${i}`.padEnd(400, '.')), delayMs: 1 });
    try {
      const client = servingClient(gw.grpcPort!);
      const call = client.Generate({ model: 'tiny', messages: request.messages, max_tokens: 6000 });
      const jobId = await new Promise<string>((resolve) => {
        call.once('data', (e: any) => {
          call.pause();
          resolve(e.started.job_id);
        });
      });
      // Let the server fill the window and block on 'drain'.
      await new Promise((r) => setTimeout(r, 1500));
      expect(gw.services.inflightCount).toBe(1);
      call.on('error', (e: grpc.ServiceError) => expect(e.code).toBe(grpc.status.CANCELLED));
      call.cancel();
      await expect.poll(() => gw.services.inflightCount, { timeout: 3000 }).toBe(0);
      await expect.poll(() => gw.services.client.openReaders, { timeout: 3000 }).toBe(0);
      await expect.poll(async () => (await gw.queue.status(jobId)).result?.finishReason, { timeout: 5000 }).toBe('cancelled');
      client.close();
    } finally {
      await worker.stop();
      await gw.stop();
    }
  });
});

describe('the cluster\'s Redis full or down: 503 with Retry-After, never 500, and the gateway lives on', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let port: number;
  let gw: GatewayHandle;
  let admin: IORedis;
  const logs: string[] = [];
  const announce = () => admin.hset(keys.pipelines, 'p1', JSON.stringify({ id: 'p1', stages: 1, ready: true, updatedAt: Date.now() }));
  beforeAll(async () => {
    redis = await startRedisServer({ extraArgs: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction'] });
    port = Number(new URL(redis.url).port);
    admin = new IORedis(redis.url, { maxRetriesPerRequest: 1 });
    admin.on('error', () => undefined);
    await announce();
    const sink = (m: string) => logs.push(m);
    gw = await startGateway({ modelDir: tinyCheckpoint(), redisUrl: redis.url, port: 0, servedModelName: 'tiny', limits: { requestTimeoutMs: 500 }, logger: { log: sink, warn: sink, error: sink }, batchProcessor: false });
  });
  afterAll(async () => {
    await gw?.close(500);
    admin?.disconnect();
    redis?.proc.kill();
  });

  it('full: an image that does not fit is refused with 503 redis_full', async () => {
    // Random pixels do not compress: ~6 MB of PNG, over the 4 MB maxmemory.
    const png = await sharp(Buffer.from(Array.from({ length: 1400 * 1400 * 3 }, () => Math.floor(Math.random() * 256))), { raw: { width: 1400, height: 1400, channels: 3 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    const body = { ...request, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is it?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } }] }] };
    const r = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const e = await expectError(r, 503, 'redis_full');
    expect(e.error.message).toMatch(/maxmemory/);
    expect(r.headers.get('retry-after')).toBeTruthy();
  });

  it('down: 503 redis_unavailable while it is gone, served again once it is back', async () => {
    redis.proc.kill('SIGKILL');
    await new Promise((r) => redis.proc.once('exit', r));
    const down = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    await expectError(down, 503, 'redis_unavailable');
    expect(down.headers.get('retry-after')).toBeTruthy();
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    redis = await startRedisServer({ port, extraArgs: ['--maxmemory', '4mb'] });
    await expect.poll(() => announce().then(() => true, () => false), { timeout: 10_000 }).toBe(true);
    // Back: the request is queued (nobody consumes it here, so it times out with 504, not 503/500).
    await expect
      .poll(async () => (await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) })).status, { timeout: 15_000 })
      .toBe(504);
    // One log line per outage, not one per reconnect attempt.
    expect(logs.filter((l) => /^redis: /.test(l)).length).toBeLessThanOrEqual(4);
  });
});
