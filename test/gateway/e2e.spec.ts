/**
 * Against a real local cluster (`ivl up`: workers running the tiny generated model, and the gateway process), the
 * issue's CI checks: the official openai client, stream = non-stream (greedy), images, a batch to its output file,
 * gRPC = REST, and a gRPC cancel that frees the sequence on every stage.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import OpenAI, { toFile } from 'openai';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster } from '@ivl/local-cluster';
import { StageClient } from '@ivl/pipeline';
import { startServingCluster, uncachedSequences } from '../support/cluster';
import { servingClient } from './support/grpc-client';

const dist = join(__dirname, '..', '..', 'dist');
const missing = ['worker.js', 'gateway.js'].filter((f) => !existsSync(join(dist, f)));
const reason = missing.length ? `needs dist/${missing.join(' and dist/')} (the workers and gateway bundles); run npm run build` : '';

describe.skipIf(!!reason)(`against a local cluster (ivl up)${reason ? ` — skipped: ${reason}` : ''}`, () => {
  let cluster: LocalCluster;
  let openai: OpenAI;
  const greedy = { model: 'tiny', temperature: 0, max_tokens: 12 } as const;

  beforeAll(async () => {
    cluster = await startServingCluster('e2e');
    openai = new OpenAI({ baseURL: `http://127.0.0.1:${cluster.httpPort}/v1`, apiKey: 'local', maxRetries: 0 });
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  const png = async (w: number, h: number, colour: string) =>
    `data:image/png;base64,${(await sharp({ create: { width: w, height: h, channels: 3, background: colour } }).png().toBuffer()).toString('base64')}`;

  it('a chat completion and a streamed one: concatenated deltas equal the greedy answer', async () => {
    const messages = [{ role: 'user' as const, content: 'Hello, who are you?' }];
    const c = await openai.chat.completions.create({ ...greedy, messages });
    expect(c.choices[0].message.content).toBeTypeOf('string');
    expect(['stop', 'length']).toContain(c.choices[0].finish_reason);
    expect(c.usage!.completion_tokens).toBeGreaterThan(0);
    const stream = await openai.chat.completions.create({ ...greedy, messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(c.choices[0].message.content);
    expect(finish).toBe(c.choices[0].finish_reason);
    // The same counts; the repeat's prompt may come from the prefix cache (prompt_tokens_details.cached_tokens).
    expect({ ...usage, prompt_tokens_details: undefined }).toEqual({ ...c.usage, prompt_tokens_details: undefined });
  }, 120_000);

  it('an image as a data URL, and two images; the gateway counts the prompt as the worker does', async () => {
    const one = await png(640, 480, '#c0392b');
    const two = await png(448, 448, '#2980b9');
    const single = { ...greedy, max_dynamic_patch: 2, messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe the image.' }, { type: 'image_url', image_url: { url: one } }] }] };
    // usage of a non-streamed answer comes from the worker; of a streamed one from the gateway's own count.
    const c = (await openai.chat.completions.create(single as never)) as OpenAI.ChatCompletion;
    const s = await openai.chat.completions.create({ ...(single as object), stream: true, stream_options: { include_usage: true } } as never);
    let streamed: OpenAI.CompletionUsage | undefined;
    for await (const chunk of s as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) streamed = chunk.usage ?? streamed;
    expect(streamed!.prompt_tokens).toBe(c.usage!.prompt_tokens);
    // 640×480 with max_dynamic_patch 2 is one tile (4:3 is closer to 1:1 than to 2:1): 256 image tokens.
    expect(c.usage!.prompt_tokens).toBeGreaterThan(256);
    const pair = await openai.chat.completions.create({
      ...greedy,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Which is red?' }, { type: 'image_url', image_url: { url: one } }, { type: 'image_url', image_url: { url: two } }] }],
      max_dynamic_patch: 1,
    } as never);
    expect((pair as OpenAI.ChatCompletion).usage!.prompt_tokens).toBeGreaterThan(2 * 256);
  }, 180_000);

  it('the prefix cache: a repeated request and an image chat\'s second turn report cached_tokens and answer as uncached', async () => {
    const image = await png(448, 448, '#16a085');
    const ask = { type: 'text', text: 'What colour fills this square, and how sure are you?' };
    const turn1 = { ...greedy, max_dynamic_patch: 1, messages: [{ role: 'user', content: [ask, { type: 'image_url', image_url: { url: image } }] }] };
    const first = (await openai.chat.completions.create(turn1 as never)) as OpenAI.ChatCompletion;
    // A new image: nothing of it can be cached (a leading system prompt may be).
    expect(first.usage!.prompt_tokens_details!.cached_tokens!).toBeLessThan(first.usage!.prompt_tokens - 256);
    const again = (await openai.chat.completions.create(turn1 as never)) as OpenAI.ChatCompletion;
    expect(again.choices[0].message.content).toBe(first.choices[0].message.content);
    // All of the prompt but its last position (whose logits are needed), in whole blocks of 16.
    expect(again.usage!.prompt_tokens_details!.cached_tokens!).toBeGreaterThan(again.usage!.prompt_tokens - 17);
    // The second turn, streamed: its final usage chunk reports the first turn's KV (image included) as cached.
    const turn2 = { ...turn1, messages: [...turn1.messages, { role: 'assistant', content: first.choices[0].message.content }, { role: 'user', content: 'Say it again in one word.' }] };
    const stream = await openai.chat.completions.create({ ...(turn2 as object), stream: true, stream_options: { include_usage: true } } as never);
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(usage!.prompt_tokens_details!.cached_tokens!).toBeGreaterThan(256);
    const whole = (await openai.chat.completions.create(turn2 as never)) as OpenAI.ChatCompletion;
    expect(whole.choices[0].message.content).toBe(text);
    // /v1/completions too.
    const raw = { model: 'tiny', prompt: 'The quick brown fox jumps over the lazy dog, and then the dog jumps over the fox again.', max_tokens: 4, temperature: 0 };
    const c1 = await openai.completions.create(raw);
    const c2 = await openai.completions.create(raw);
    expect(c2.choices[0].text).toBe(c1.choices[0].text);
    expect(c2.usage!.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);
  }, 180_000);

  it('a batch from upload to output file, with the same answers as live requests', async () => {
    const bodies = ['Count to three.', 'Name a colour.'].map((q) => ({ ...greedy, messages: [{ role: 'user', content: q }] }));
    const jsonl = bodies.map((body, i) => JSON.stringify({ custom_id: `q${i}`, method: 'POST', url: '/v1/chat/completions', body })).join('\n');
    const file = await openai.files.create({ file: await toFile(Buffer.from(jsonl), 'batch.jsonl'), purpose: 'batch' });
    const batch = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    let b = batch;
    const deadline = Date.now() + 120_000;
    while (!['completed', 'failed', 'cancelled', 'expired'].includes(b.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      b = await openai.batches.retrieve(batch.id);
    }
    expect(b.status).toBe('completed');
    expect(b.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
    const out = (await (await openai.files.content(b.output_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l));
    for (const [i, body] of bodies.entries()) {
      const live = await openai.chat.completions.create(body as never);
      expect(out[i].custom_id).toBe(`q${i}`);
      expect(out[i].response.body.choices[0].message.content).toBe((live as OpenAI.ChatCompletion).choices[0].message.content);
    }
  }, 180_000);

  it('bad inputs get their documented errors and the cluster keeps serving', async () => {
    const url = `http://127.0.0.1:${cluster.httpPort}/v1/chat/completions`;
    const post = (body: unknown, type = 'application/json') => fetch(url, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const user = (content: unknown) => ({ model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content }] });
    const cases: Array<[Response, number, string]> = [
      [await post('{oops'), 400, 'invalid_json'],
      [await post('hi', 'text/plain'), 415, 'unsupported_media_type'],
      [await post({ ...user('x'), model: 'nope' }), 404, 'model_not_found'],
      [await post(user([{ type: 'image_url', image_url: { url: `http://127.0.0.1:${cluster.httpPort}/healthz` } }])), 400, 'url_not_allowed'],
      [await post(user([{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }])), 422, 'unsupported_image_format'],
      [await post({ ...user('x'), max_tokens: 10_000_000 }), 400, 'invalid_value'],
    ];
    for (const [res, status, code] of cases) {
      const body = (await res.json()) as { error: { code: string; message: string; type: string } };
      expect([res.status, body.error.code]).toEqual([status, code]);
    }
    const ok = await openai.chat.completions.create({ ...greedy, messages: [{ role: 'user', content: 'Still serving?' }] });
    expect(ok.choices[0].finish_reason).toBeTruthy();
  }, 60_000);

  it('gRPC Generate streams the same text as REST, and reports the prefix cache in Usage.cached_tokens', async () => {
    const messages = [{ role: 'user', content: 'Tell me a story.' }];
    const rest = await openai.chat.completions.create({ ...greedy, messages } as never);
    const client = servingClient(cluster.grpcPort!);
    const events: any[] = await new Promise((resolve, reject) => {
      const ev: any[] = [];
      const call = client.Generate({ model: 'tiny', messages, temperature: 0, max_tokens: 12 });
      call.on('data', (e: any) => ev.push(e));
      call.on('end', () => resolve(ev));
      call.on('error', reject);
    });
    const text = events.filter((e) => e.delta).map((e) => e.delta.text).join('');
    expect(text).toBe((rest as OpenAI.ChatCompletion).choices[0].message.content);
    const usage = events.at(-1).finished.usage;
    expect(usage.prompt_tokens).toBe((rest as OpenAI.ChatCompletion).usage!.prompt_tokens);
    // The same request again: all of its prompt but the last position, in whole blocks of 16, came from the cache.
    expect(usage.cached_tokens).toBeGreaterThan(usage.prompt_tokens - 17);
    expect(usage.cached_tokens).toBeLessThan(usage.prompt_tokens);
    // GetJob reports it too, as REST's usage does for that job.
    const job = await new Promise<any>((resolve, reject) => client.GetJob({ job_id: events[0].started.job_id }, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
    expect(job.usage).toMatchObject({ prompt_tokens: usage.prompt_tokens, cached_tokens: usage.cached_tokens });
  }, 120_000);

  it('gRPC cancel stops generation and frees the sequence on every stage', async () => {
    const stages = cluster.stagePorts.map((p) => new StageClient(`127.0.0.1:${p}`));
    // Each stage's Health reports its sequences; finished ones the prefix cache keeps (stage 0 reports how many)
    // are there on purpose, anything else is running or leaked.
    const idle = () => expect.poll(() => uncachedSequences(stages), { timeout: 20_000, interval: 200 }).toEqual(stages.map(() => 0));
    try {
      // Finished requests of the earlier tests are released (in small batches) first.
      await idle();
      const client = servingClient(cluster.grpcPort!);
      const call = client.Generate({ model: 'tiny', messages: [{ role: 'user', content: 'Write a very long essay.' }], max_tokens: 4000, temperature: 1, seed: 1 });
      call.on('error', (e: grpc.ServiceError) => expect(e.code).toBe(grpc.status.CANCELLED));
      let deltas = 0;
      await new Promise<void>((resolve) => {
        call.on('data', (e: any) => {
          if (e.delta && ++deltas === 3) resolve();
        });
      });
      call.cancel();
      await idle();
    } finally {
      stages.forEach((s) => s.close());
    }
    // And the cluster keeps serving.
    const after = await openai.chat.completions.create({ ...greedy, messages: [{ role: 'user', content: 'Still there?' }] });
    expect(after.choices[0].message.content).toBeTypeOf('string');
  }, 120_000);
});
