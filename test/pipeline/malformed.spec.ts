import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, ActivationBatchMsg, ForwardEventMsg, encodeBatch, stageServiceClient } from '@ivl/pipeline';
import { tinyCheckpoint } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';

/** A stage answers bad input on its Forward stream with an error event, keeps the stream open and keeps serving. */
describe('stage input validation', () => {
  let cluster: TestCluster;
  let call: grpc.ClientDuplexStream<ActivationBatchMsg, ForwardEventMsg>;
  const events: ForwardEventMsg[] = [];
  beforeAll(async () => {
    cluster = await startTestCluster({ model: tinyCheckpoint('tiny'), stages: 2 });
    const Ctor = stageServiceClient();
    const c = new Ctor(`127.0.0.1:${cluster.stagePorts[1]}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as Record<string, () => typeof call>;
    call = c.Forward.call(c);
    call.on('data', (e: ForwardEventMsg) => events.push(e));
    call.on('error', () => undefined); // the cluster stops under it at the end
  });
  afterAll(async () => {
    call?.end();
    await cluster?.stop();
  });

  const next = async (n: number) => {
    for (let i = 0; i < 200 && events.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    return events[n - 1];
  };
  const hidden = 64;

  it('rejects a shape that does not match the spans, then an unknown sequence, then serves a valid batch', async () => {
    const bad = encodeBatch({ batchId: 'b1', spans: [{ seq: 's', start: 0, length: 2 }], data: new Float32Array(3 * hidden), hidden, trace: {}, forwardMs: {}, sentAtMs: 0, wireBytes: 0 })[0];
    bad.shape = [3, hidden];
    call.write(bad);
    expect((await next(1)).error).toMatchObject({ batch_id: 'b1', code: 'INVALID_ARGUMENT' });

    const unknown = encodeBatch({ batchId: 'b2', spans: [{ seq: 'never-prefilled', start: 7, length: 1 }], data: new Float32Array(hidden), hidden, trace: {}, forwardMs: {}, sentAtMs: 0, wireBytes: 0 });
    unknown.forEach((m) => call.write(m));
    expect((await next(2)).error).toMatchObject({ batch_id: 'b2', code: 'NOT_FOUND' });
    expect((await next(2)).error!.message).toMatch(/unknown sequence never-prefilled/);

    call.write({ ...encodeBatch({ batchId: 'b3', spans: [{ seq: 'x', start: 0, length: 1 }], data: new Float32Array(hidden), hidden, trace: {}, forwardMs: {}, sentAtMs: 0, wireBytes: 0 })[0], dtype: 'FLOAT16' });
    expect((await next(3)).error).toMatchObject({ batch_id: 'b3', code: 'INVALID_ARGUMENT' });

    const ok = encodeBatch({ batchId: 'b4', spans: [{ seq: 'fresh', start: 0, length: 3 }], data: new Float32Array(3 * hidden).fill(0.5), hidden, trace: {}, forwardMs: {}, sentAtMs: 0, wireBytes: 0 });
    ok.forEach((m) => call.write(m));
    expect((await next(4)).ack).toMatchObject({ batch_id: 'b4' });
  });
});
