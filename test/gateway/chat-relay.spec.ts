import OpenAI from 'openai';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '@ivl/queue';
import { type TestGateway, startTestGateway } from './support/gateway';
import { startFakeWorker } from './support/fake-worker';
import { readSse } from './support/sse';

let gw: TestGateway;
let worker: ReturnType<typeof startFakeWorker>;
let openai: OpenAI;
const grounding = [{ label: 'cat', boxes: [[1, 2, 30, 40]] as Array<[number, number, number, number]> }];

beforeAll(async () => {
  gw = await startTestGateway('relay');
  await gw.pipeline(true);
  worker = startFakeWorker(gw.prefix, { grounding });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await worker.stop();
  await gw.stop();
});

const request = { model: 'tiny', messages: [{ role: 'user', content: 'Say hello.' }], temperature: 0 };

describe('REST relay of the token stream (fake pipeline)', () => {
  it('a non-streamed completion: text, finish_reason, usage, grounding extension', async () => {
    const r = await gw.post('/v1/chat/completions', request);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'tiny',
      choices: [{ index: 0, message: { role: 'assistant', content: worker.words.join(''), grounding }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 42, completion_tokens: 5, total_tokens: 47 },
    });
    expect(body.id).toBe(`chatcmpl-${r.headers.get('x-request-id')}`);
  });

  it('a streamed completion: role chunk, deltas, finish chunk, usage chunk, [DONE]', async () => {
    const r = await gw.post('/v1/chat/completions', { ...request, stream: true, stream_options: { include_usage: true } });
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await readSse(r)) as Array<Record<string, any>>;
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id && 'usage' in c)).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe(worker.words.join(''));
    const finish = chunks.at(-2)!;
    expect(finish.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBe(5);
    expect(usage.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('without include_usage no chunk carries usage; max_tokens ends with length', async () => {
    const events = (await readSse(await gw.post('/v1/chat/completions', { ...request, stream: true, max_tokens: 2 }))) as Array<Record<string, any>>;
    expect(events.slice(0, -1).some((c) => 'usage' in c)).toBe(false);
    expect(events.at(-2)!.choices[0].finish_reason).toBe('length');
  });

  it('the official openai client: completion, stream, data-URL images', async () => {
    const c = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 16 });
    expect(c.choices[0].message.content).toBe(worker.words.join(''));
    const stream = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(c.choices[0].message.content);
    expect(usage?.completion_tokens).toBe(5);
    const png = (await sharp({ create: { width: 448, height: 448, channels: 3, background: '#884422' } }).png().toBuffer()).toString('base64');
    const url = `data:image/png;base64,${png}`;
    await openai.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Compare.' }, { type: 'image_url', image_url: { url } }, { type: 'image_url', image_url: { url } }] }],
    });
    const job = worker.seen.at(-1)!;
    expect(job.input.question).toBe('Image-1: <image>\nImage-2: <image>\nCompare.');
    expect(job.input.images?.map((i) => i.maxNum)).toEqual([12, 12]);
    const err = await openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe('model_not_found');
  });
});

describe('a client that goes away cancels its job', () => {
  it('streaming: the job ends cancelled', async () => {
    // Long enough (20 s) to outlast the 5 s resume window even on a loaded machine.
    const slow = startFakeWorker(gw.prefix, { words: Array.from({ length: 1000 }, (_, i) => ` w${i}`), delayMs: 20 });
    try {
      // Stop the fast worker from taking this job.
      await worker.stop();
      const r = await gw.post('/v1/chat/completions', { ...request, stream: true });
      const id = r.headers.get('x-request-id')!;
      let seen = 0;
      await readSse(r, (e) => {
        if (typeof e === 'object' && (e as any).choices?.[0]?.delta?.content) seen++;
        return seen < 3;
      });
      // After the resume window (5 s by default) in which the client could have come back with Last-Event-ID.
      await expect.poll(() => gw.redis.exists(keys.cancel(id)), { timeout: 10_000 }).toBe(1);
      await expect.poll(async () => (await gw.queue.status(id)).result?.finishReason, { timeout: 5000 }).toBe('cancelled');
    } finally {
      await slow.stop();
      worker = startFakeWorker(gw.prefix, { grounding });
    }
  });

  it('non-streamed: the waiting job is removed from the queue', async () => {
    // A gateway whose queue nobody consumes, so the job is still waiting when the client leaves.
    const idle = await startTestGateway('relay-idle');
    try {
      await idle.pipeline(true);
      const abort = new AbortController();
      const pending = fetch(`${idle.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request), signal: abort.signal }).catch(() => undefined);
      await expect.poll(async () => (await idle.queue.counts()).waiting, { timeout: 5000 }).toBe(1);
      abort.abort();
      await pending;
      await expect.poll(async () => (await idle.queue.counts()).waiting, { timeout: 5000 }).toBe(0);
    } finally {
      await idle.stop();
    }
  });
});
