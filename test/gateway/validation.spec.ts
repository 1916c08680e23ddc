import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, expectError, startTestGateway } from './support/gateway';
import { startFakeWorker } from './support/fake-worker';

let gw: TestGateway;
let open: TestGateway;
let imageServer: Server;
let imageUrl: string;
let png: Buffer;
let big: Buffer;

const dataUrl = (b: Buffer) => `data:image/png;base64,${b.toString('base64')}`;
const user = (content: unknown, extra: Record<string, unknown> = {}) => ({ model: 'tiny', messages: [{ role: 'user', content }], max_tokens: 4, ...extra });
const image = (url: string) => ({ type: 'image_url', image_url: { url } });

beforeAll(async () => {
  png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } }).png().toBuffer();
  big = await sharp({ create: { width: 2000, height: 1500, channels: 3, background: '#000' } }).png().toBuffer();
  imageServer = createServer((_req, res) => res.end(png));
  await new Promise<void>((r) => imageServer.listen(0, '127.0.0.1', r));
  imageUrl = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}/cat.png`;
  gw = await startTestGateway('valid', { limits: { maxBodyBytes: 200_000, maxImagesPerRequest: 2, maxImagePixels: 1_000_000, maxContextTokens: 600 } });
  await gw.pipeline(true);
  open = await startTestGateway('private-ok', { limits: { allowPrivateUrls: true } });
  await open.pipeline(true);
});
afterAll(async () => {
  await Promise.all([gw.stop(), open.stop()]);
  await new Promise<void>((r) => imageServer.close(() => r()));
});

type Case = [name: string, send: () => Promise<Response>, status: number, code: string | null, param?: string | null];

describe('every bad input gets its documented status and an OpenAI error body, and never reaches the queue', () => {
  const cases: Case[] = [
    ['body not JSON (Content-Type)', () => gw.post('/v1/chat/completions', 'hello', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
    ['malformed JSON', () => gw.post('/v1/chat/completions', '{"model": "tiny",'), 400, 'invalid_json'],
    ['body over the size limit', () => gw.post('/v1/chat/completions', user('x'.repeat(300_000))), 413, 'request_too_large'],
    ['JSON that is not an object', () => gw.post('/v1/chat/completions', '[1,2]'), 400, 'invalid_json'],
    ['model missing', () => gw.post('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] }), 400, 'missing_required_parameter', 'model'],
    ['messages empty', () => gw.post('/v1/chat/completions', { model: 'tiny', messages: [] }), 400, 'invalid_value', 'messages'],
    ['unknown role', () => gw.post('/v1/chat/completions', { model: 'tiny', messages: [{ role: 'function', content: 'x' }] }), 400, 'invalid_value', 'messages[0].role'],
    ['tool message without tool_call_id', () => gw.post('/v1/chat/completions', { model: 'tiny', messages: [{ role: 'tool', content: 'x' }] }), 400, 'missing_required_parameter', 'messages[0].tool_call_id'],
    ['unknown content part', () => gw.post('/v1/chat/completions', user([{ type: 'input_audio', input_audio: {} }])), 400, 'invalid_value', 'messages[0].content[0].type'],
    ['image part without url', () => gw.post('/v1/chat/completions', user([{ type: 'image_url', image_url: {} }])), 400, 'missing_required_parameter', 'messages[0].content[0].image_url.url'],
    ['temperature out of range', () => gw.post('/v1/chat/completions', user('hi', { temperature: 3 })), 400, 'invalid_value', 'temperature'],
    ['top_p 0', () => gw.post('/v1/chat/completions', user('hi', { top_p: 0 })), 400, 'invalid_value', 'top_p'],
    ['max_tokens 0', () => gw.post('/v1/chat/completions', user('hi', { max_tokens: 0 })), 400, 'invalid_value', 'max_tokens'],
    ['seed negative', () => gw.post('/v1/chat/completions', user('hi', { seed: -1 })), 400, 'invalid_value', 'seed'],
    ['n above the limit', () => gw.post('/v1/chat/completions', user('hi', { n: 9 })), 400, 'invalid_value', 'n'],
    ['top_logprobs above 20', () => gw.post('/v1/chat/completions', user('hi', { logprobs: true, top_logprobs: 21 })), 400, 'invalid_value', 'top_logprobs'],
    ['top_logprobs without logprobs', () => gw.post('/v1/chat/completions', user('hi', { top_logprobs: 2 })), 400, 'invalid_value', 'top_logprobs'],
    ['logit_bias with an unknown id', () => gw.post('/v1/chat/completions', user('hi', { logit_bias: { 999999: 5 } })), 400, 'invalid_value', 'logit_bias'],
    ['logit_bias id that is not a number', () => gw.post('/v1/chat/completions', user('hi', { logit_bias: { abc: 5 } })), 400, 'invalid_value', 'logit_bias'],
    ['tool_choice naming an unknown function', () => gw.post('/v1/chat/completions', user('hi', { tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } })), 400, 'invalid_value', 'tool_choice'],
    ['tool_choice required without tools', () => gw.post('/v1/chat/completions', user('hi', { tool_choice: 'required' })), 400, 'invalid_value', 'tool_choice'],
    ['a JSON schema the grammar engine cannot compile', () => gw.post('/v1/chat/completions', user('hi', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'nonsense' } } } })), 400, 'invalid_value', 'response_format.json_schema.schema'],
    ['tool parameters the grammar engine cannot compile', () => gw.post('/v1/chat/completions', user('hi', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'nonsense' } } } } }] })), 400, 'invalid_value', 'tools'],
    ['unknown response_format type', () => gw.post('/v1/chat/completions', user('hi', { response_format: { type: 'xml' } })), 400, 'invalid_value', 'response_format.type'],
    ['legacy functions', () => gw.post('/v1/chat/completions', user('hi', { functions: [{ name: 'f' }] })), 400, 'unsupported_parameter', 'functions'],
    ['unknown model', () => gw.post('/v1/chat/completions', { ...user('hi'), model: 'gpt-4o' }), 404, 'model_not_found', 'model'],
    ['last message from the assistant', () => gw.post('/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }), 400, 'invalid_value', 'messages[1].role'],
    ['image URL on loopback (SSRF)', () => gw.post('/v1/chat/completions', user([image(imageUrl)])), 400, 'url_not_allowed', 'messages[0].content[0].image_url'],
    ['image URL by name resolving to loopback (SSRF)', () => gw.post('/v1/chat/completions', user([image(imageUrl.replace('127.0.0.1', 'localhost'))])), 400, 'url_not_allowed', 'messages[0].content[0].image_url'],
    ['cloud metadata address (SSRF)', () => gw.post('/v1/chat/completions', user([image('http://169.254.169.254/latest/meta-data/')])), 400, 'url_not_allowed', 'messages[0].content[0].image_url'],
    ['IPv6 loopback (SSRF)', () => gw.post('/v1/chat/completions', user([image('http://[::1]/x.png')])), 400, 'url_not_allowed', 'messages[0].content[0].image_url'],
    ['file: URL', () => gw.post('/v1/chat/completions', user([image('file:///etc/passwd')])), 400, 'invalid_url', 'messages[0].content[0].image_url'],
    ['too many images', () => gw.post('/v1/chat/completions', user([image(dataUrl(png)), image(dataUrl(png)), image(dataUrl(png))])), 400, 'too_many_images', 'messages[0].content[2].image_url'],
    ['image with too many pixels', () => gw.post('/v1/chat/completions', user([image(dataUrl(big))])), 413, 'image_too_large', 'messages[0].content[0].image_url'],
    ['image in an unsupported format', () => gw.post('/v1/chat/completions', user([image(`data:image/bmp;base64,${Buffer.from('BM\x00\x00\x00\x00').toString('base64')}`)])), 422, 'unsupported_image_format', 'messages[0].content[0].image_url'],
    ['prompt longer than the context', () => gw.post('/v1/chat/completions', user('hello '.repeat(700))), 400, 'context_length_exceeded', 'messages'],
    ['prompt + max_tokens longer than the context', () => gw.post('/v1/chat/completions', user('hi', { max_tokens: 590 })), 400, 'context_length_exceeded', 'max_tokens'],
    ['unknown route', () => gw.post('/v1/embeddings', user('hi')), 404, 'not_found'],
    ['batch body not JSON', () => gw.post('/v1/batches', 'x', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
  ];
  for (const [name, send, status, code, param] of cases) {
    it(name, async () => {
      await expectError(await send(), status, code, param);
    });
  }

  it('nothing was queued, and the gateway still serves', async () => {
    expect(await gw.queue.counts()).toMatchObject({ waiting: 0, active: 0, prioritized: 0, completed: 0, failed: 0 });
    const worker = startFakeWorker(gw.prefix);
    try {
      // 64×48 is 4:3, so the card's rule tiles it 4×3 + thumbnail; one tile keeps it inside this gateway's small context.
      const r = await gw.post('/v1/chat/completions', user([{ type: 'text', text: 'What is this?' }, image(dataUrl(png))], { max_dynamic_patch: 1 }));
      const body = (await r.json()) as { choices: Array<{ message: { content: string }; finish_reason: string }> };
      expect(r.status, JSON.stringify(body)).toBe(200);
      // max_tokens 4: the fake pipeline stops after four of its five words.
      expect(body.choices[0]).toMatchObject({ message: { content: worker.words.slice(0, 4).join('') }, finish_reason: 'length' });
    } finally {
      await worker.stop();
    }
  });

  it('with IVL_ALLOW_PRIVATE_URLS an operator may fetch from the local network', async () => {
    const worker = startFakeWorker(open.prefix);
    try {
      const r = await open.post('/v1/chat/completions', user([image(imageUrl)]));
      expect(r.status).toBe(200);
      expect(worker.seen[0].input.images).toHaveLength(1);
      expect(worker.seen[0].input.question).toBe('<image>\n');
    } finally {
      await worker.stop();
    }
  });
});
