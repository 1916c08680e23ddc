import { readFileSync } from 'node:fs';
import IORedis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayHandle, startGateway } from '@ivl/gateway';
import { startRedisServer } from '@ivl/local-cluster';
import { tinyCheckpoint } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';

/**
 * Soak: concurrent streaming requests through the gateway to a real 2-stage pipeline, a fifth of whose clients
 * disconnect mid-stream. No server error; afterwards every request, stream reader and Redis connection the gateway
 * opened for them is released and every abandoned job was cancelled; the gateway's and the workers' RSS stay bounded.
 *
 * CI size: 200 streams. Larger: IVL_SOAK_STREAMS=1000 npx vitest run test/gateway/soak.spec.ts
 */
const STREAMS = Number(process.env.IVL_SOAK_STREAMS ?? 200);
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe(`soak: ${STREAMS} concurrent streams, some clients disconnecting`, () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let cluster: TestCluster;
  let gw: GatewayHandle;
  let admin: IORedis;
  const logs: string[] = [];
  beforeAll(async () => {
    // A Redis of its own, so the connection count is ours alone.
    redis = await startRedisServer();
    cluster = await startTestCluster({ model: tinyCheckpoint('tiny'), stages: 2, redis: redis.url, queuePrefix: 'soak' });
    const sink = (m: string) => logs.push(m);
    gw = await startGateway({ modelDir: tinyCheckpoint('tiny'), redisUrl: redis.url, queuePrefix: 'soak', port: 0, servedModelName: 'tiny', logger: { log: sink, warn: sink, error: sink }, batchProcessor: false, limits: { streamResumeMs: 500 } });
    admin = new IORedis(redis.url);
  }, 300_000);
  afterAll(async () => {
    admin?.disconnect();
    await gw?.close(2000);
    await cluster?.stop();
    redis?.proc.kill();
  });

  it('0 server errors; requests, readers and Redis connections released; every job ended; RSS bounded', async () => {
    const clients = async () => (await admin.client('LIST') as string).trim().split('\n').length;
    const baseline = { connections: await clients(), gatewayRss: process.memoryUsage().rss / 2 ** 20, workers: cluster.workers.map((w) => rssMb(w.pid!)) };
    const started = Date.now();
    const statuses: number[] = [];
    let serverErrors = 0;
    let completed = 0;
    let abandoned = 0;
    const peakWorkerRss = [...baseline.workers];
    const sampler = setInterval(() => cluster.workers.forEach((w, k) => (peakWorkerRss[k] = Math.max(peakWorkerRss[k], rssMb(w.pid!)))), 250);
    let peakGatewayRss = baseline.gatewayRss;
    const gwSampler = setInterval(() => (peakGatewayRss = Math.max(peakGatewayRss, process.memoryUsage().rss / 2 ** 20)), 250);
    const one = async (i: number) => {
      const leave = i % 5 === 0;
      const abort = new AbortController();
      const r = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: `Stream ${i}: tell me a story.` }], max_tokens: 8 + (i % 17), stream: true, temperature: 0.7, seed: i }),
        signal: abort.signal,
      });
      statuses.push(r.status);
      if (r.status >= 500) serverErrors++;
      const reader = r.body!.getReader();
      const dec = new TextDecoder();
      let body = '';
      let contentChunks = 0;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const text = dec.decode(value, { stream: true });
          body += text;
          contentChunks += (text.match(/"content":"[^"]/g) ?? []).length;
          if (leave && contentChunks >= 2) {
            abandoned++;
            abort.abort();
            return;
          }
        }
      } catch {
        if (!leave) throw new Error(`stream ${i} broke`);
        return;
      }
      if (/"type":"server_error"|"code":"(stream_failed|generation_failed)"/.test(body)) serverErrors++;
      if (body.trimEnd().endsWith('data: [DONE]')) completed++;
    };
    await Promise.all(Array.from({ length: STREAMS }, (_, i) => one(i)));
    const seconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    clearInterval(gwSampler);

    expect(serverErrors).toBe(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(completed + abandoned).toBe(STREAMS);
    // Everything the requests held is released, and the abandoned jobs are cancelled (after the resume window).
    await expect.poll(() => gw.services.inflightCount, { timeout: 10_000 }).toBe(0);
    await expect.poll(() => gw.services.client.openReaders, { timeout: 10_000 }).toBe(0);
    await expect.poll(clients, { timeout: 10_000 }).toBeLessThanOrEqual(baseline.connections);
    await expect.poll(async () => (await gw.services.client.counts()).active + (await gw.services.client.counts()).waiting, { timeout: 30_000 }).toBe(0);
    const counts = await gw.services.client.counts();
    expect(counts.failed).toBe(0);
    // RSS: bounded growth while serving (no per-stream leak), figures printed for BENCHMARKS.md.
    const line = `soak: ${STREAMS} concurrent streams (${abandoned} clients disconnected mid-stream), ${completed} complete, 0 server errors, ${seconds.toFixed(1)} s; ` +
      `gateway RSS ${baseline.gatewayRss.toFixed(0)} → peak ${peakGatewayRss.toFixed(0)} MB (test process), workers ${baseline.workers.map((m) => m.toFixed(0)).join('/')} → peak ${peakWorkerRss.map((m) => m.toFixed(0)).join('/')} MB; ` +
      `open readers 0, requests in flight 0, Redis connections ${await clients()} (baseline ${baseline.connections})`;
    console.log(`[soak] ${line}`);
    expect(peakGatewayRss - baseline.gatewayRss).toBeLessThan(400);
    peakWorkerRss.forEach((m, k) => expect(m - baseline.workers[k], `stage ${k}`).toBeLessThan(600));
  }, 600_000);
});
