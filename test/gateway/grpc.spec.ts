import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, startTestGateway } from './support/gateway';
import { startFakeWorker } from './support/fake-worker';
import { reflectionList, servingClient, unaryCall } from './support/grpc-client';
import { readSse } from './support/sse';

let gw: TestGateway;
let idle: TestGateway;
let worker: ReturnType<typeof startFakeWorker>;
const auth = () => {
  const md = new grpc.Metadata();
  md.set('authorization', 'Bearer sk-grpc');
  return md;
};

beforeAll(async () => {
  gw = await startTestGateway('grpc', { apiKeys: ['sk-grpc'] });
  await gw.pipeline(true);
  worker = startFakeWorker(gw.prefix);
  idle = await startTestGateway('grpc-idle', { limits: { maxQueued: 1 } });
  await idle.pipeline(true);
});
afterAll(async () => {
  await worker.stop();
  await Promise.all([gw.stop(), idle.stop()]);
});

function generate(client: any, req: unknown, md = auth()): Promise<{ events: any[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const events: any[] = [];
    const call = client.Generate(req, md);
    call.on('data', (e: any) => events.push(e));
    call.on('end', () => resolve({ events }));
    call.on('error', (error: grpc.ServiceError) => resolve({ events, error }));
  });
}

const messages = [{ role: 'user', content: 'Say hello.' }];

describe('gRPC Serving API', () => {
  it('server reflection lists the service (grpcurl works)', async () => {
    expect(await reflectionList(gw.grpcPort!)).toEqual(expect.arrayContaining(['ivl.serving.v1.Serving']));
  });

  it('ListModels', async () => {
    const r = await unaryCall<any>(servingClient(gw.grpcPort!), 'ListModels', {}, auth());
    expect(r.models).toEqual([expect.objectContaining({ id: 'tiny', owned_by: 'ivl-cluster' })]);
  });

  it('Generate streams Started, deltas and Finished, equal to the REST answer', async () => {
    const { events, error } = await generate(servingClient(gw.grpcPort!), { model: 'tiny', messages, temperature: 0 });
    expect(error).toBeUndefined();
    expect(events[0].event).toBe('started');
    expect(events[0].started.job_id).toMatch(/^[0-9a-f]{32}$/);
    const text = events.filter((e) => e.event === 'delta').map((e) => e.delta.text).join('');
    const last = events.at(-1);
    expect(last.finished).toMatchObject({ finish_reason: 'STOP', usage: { completion_tokens: 5 } });
    const rest = (await (await gw.post('/v1/chat/completions', { model: 'tiny', messages, temperature: 0 }, { authorization: 'Bearer sk-grpc' })).json()) as any;
    expect(text).toBe(rest.choices[0].message.content);
    expect(last.finished.usage.prompt_tokens).toBe(events[0].started.prompt_tokens);
    // The same prompt is counted the same way on both APIs.
    const sse = (await readSse(await gw.post('/v1/chat/completions', { model: 'tiny', messages, stream: true, stream_options: { include_usage: true } }, { authorization: 'Bearer sk-grpc' }))) as any[];
    expect(sse.at(-2).usage.prompt_tokens).toBe(events[0].started.prompt_tokens);
  });

  it('errors map to gRPC codes with the OpenAI code in metadata', async () => {
    const client = servingClient(gw.grpcPort!);
    const noKey = await generate(client, { model: 'tiny', messages }, new grpc.Metadata());
    expect(noKey.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    const bad = await generate(client, { model: 'tiny', messages, temperature: 7 });
    expect(bad.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.error?.metadata.get('error-param')).toEqual(['temperature']);
    const model = await unaryCall<grpc.ServiceError>(client, 'Submit', { model: 'gpt-4o', messages }, auth()).catch((e: grpc.ServiceError) => e);
    expect(model.code).toBe(grpc.status.NOT_FOUND);
    expect(model.metadata.get('error-code')).toEqual(['model_not_found']);
    const ssrf = await generate(client, { model: 'tiny', messages: [{ role: 'user', parts: [{ image: { url: 'http://127.0.0.1:1/x.png' } }] }] });
    expect(ssrf.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(ssrf.error?.metadata.get('error-code')).toEqual(['url_not_allowed']);
    const role = await unaryCall<grpc.ServiceError>(client, 'Submit', { model: 'tiny', messages: [{ role: 'tool', content: 'x' }] }, auth()).catch((e: grpc.ServiceError) => e);
    expect(role.code).toBe(grpc.status.INVALID_ARGUMENT);
    const unknownJob = await unaryCall<grpc.ServiceError>(client, 'GetJob', { job_id: 'nope' }, auth()).catch((e: grpc.ServiceError) => e);
    expect(unknownJob.code).toBe(grpc.status.NOT_FOUND);
  });

  it('Submit → GetJob → CancelJob on a queue nobody consumes; a full queue is RESOURCE_EXHAUSTED', async () => {
    const client = servingClient(idle.grpcPort!);
    const s = await unaryCall<any>(client, 'Submit', { model: 'tiny', messages, max_tokens: 4 });
    expect(s.prompt_tokens).toBeGreaterThan(0);
    expect((await unaryCall<any>(client, 'GetJob', { job_id: s.job_id })).state).toBe('QUEUED');
    const full = await unaryCall<grpc.ServiceError>(client, 'Submit', { model: 'tiny', messages }).catch((e: grpc.ServiceError) => e);
    expect(full.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(full.metadata.get('retry-after')).toEqual(['2']);
    expect((await unaryCall<any>(client, 'CancelJob', { job_id: s.job_id })).cancelled).toBe(true);
    expect((await unaryCall<any>(client, 'GetJob', { job_id: s.job_id })).state).toBe('CANCELLED');
    expect((await idle.queue.counts()).waiting).toBe(0);
  });

  it('Submit then GetJob returns the finished text', async () => {
    const client = servingClient(gw.grpcPort!);
    const s = await unaryCall<any>(client, 'Submit', { model: 'tiny', messages }, auth());
    await expect.poll(async () => (await unaryCall<any>(client, 'GetJob', { job_id: s.job_id }, auth())).state, { timeout: 5000 }).toBe('COMPLETED');
    const j = await unaryCall<any>(client, 'GetJob', { job_id: s.job_id }, auth());
    expect(j).toMatchObject({ text: worker.words.join(''), finish_reason: 'STOP', usage: { completion_tokens: 5 } });
  });

  it('cancelling the Generate call cancels the job', async () => {
    const slowGw = await startTestGateway('grpc-slow');
    await slowGw.pipeline(true);
    const slow = startFakeWorker(slowGw.prefix, { words: Array.from({ length: 500 }, (_, i) => ` w${i}`), delayMs: 10 });
    try {
      const client = servingClient(slowGw.grpcPort!);
      const call = client.Generate({ model: 'tiny', messages });
      const jobId = await new Promise<string>((resolve) => {
        let id = '';
        call.on('data', (e: any) => {
          if (e.started) id = e.started.job_id;
          if (e.delta) resolve(id);
        });
      });
      call.on('error', () => undefined);
      call.cancel();
      await expect.poll(async () => (await slowGw.queue.status(jobId)).result?.finishReason, { timeout: 5000 }).toBe('cancelled');
    } finally {
      await slow.stop();
      await slowGw.stop();
    }
  });
});
