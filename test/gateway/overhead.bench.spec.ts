/**
 * The gateway-overhead benchmark of issue #5, opt-in (IVL_BENCH=1): a local cluster on the tiny model, the same
 * greedy jobs at 1 and 16 concurrent clients straight to the queue and through streaming REST. Prints a table and,
 * with IVL_BENCH_OUT=file.json, writes the numbers. Knobs: IVL_BENCH_STAGES, IVL_BENCH_TOKENS, IVL_BENCH_REQUESTS, IVL_BENCH_ROUNDS, IVL_BENCH_THREADS, IVL_BENCH_MODEL.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OverheadResult, benchGatewayOverhead } from '@ivl/gateway';
import { type LocalCluster, startLocalCluster } from '@ivl/local-cluster';
import { testRedisUrl, tinyCheckpoint, uniquePrefix } from '@ivl/test-support';

const env = process.env;

describe.skipIf(!env.IVL_BENCH)('gateway overhead (IVL_BENCH=1)', () => {
  let cluster: LocalCluster;
  const prefix = uniquePrefix('bench');

  beforeAll(async () => {
    cluster = await startLocalCluster({
      model: env.IVL_BENCH_MODEL ?? tinyCheckpoint(),
      stages: Number(env.IVL_BENCH_STAGES ?? 1),
      // On a small machine, give the gateway and the clients a core of their own (IVL_BENCH_THREADS=1).
      threads: env.IVL_BENCH_THREADS ? Number(env.IVL_BENCH_THREADS) : undefined,
      plan: 'card',
      dtype: 'fp32',
      redis: testRedisUrl(),
      queuePrefix: prefix,
      port: 0,
      grpcPort: 0,
      extraGatewayArgs: ['--served-model-name', 'bench', '--host', '127.0.0.1'],
      log: () => undefined,
    });
    await cluster.waitReady(300_000);
    while ((await fetch(`http://127.0.0.1:${cluster.httpPort}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 100));
  }, 400_000);
  afterAll(() => cluster?.stop(), 60_000);

  it('REST streaming keeps ≥ 0.95 of the queue throughput', async () => {
    const results: OverheadResult[] = [];
    for (const concurrency of [1, 16]) {
      results.push(
        await benchGatewayOverhead({
          url: `http://127.0.0.1:${cluster.httpPort}`,
          redisUrl: testRedisUrl(),
          queuePrefix: prefix,
          model: 'bench',
          concurrency,
          // Short rounds alternate the two paths often, so drift on a shared machine cancels out.
          requestsPerClient: Number(env.IVL_BENCH_REQUESTS ?? (concurrency === 1 ? 1 : 2)),
          maxTokens: Number(env.IVL_BENCH_TOKENS ?? 64),
          rounds: Number(env.IVL_BENCH_ROUNDS ?? (concurrency === 1 ? 16 : 4)),
        }),
      );
    }
    const rows = results.map((r) =>
      [r.concurrency, r.direct.tokensPerSecond.toFixed(1), r.rest.tokensPerSecond.toFixed(1), r.throughputRatio.toFixed(3), r.direct.ttftMsP50.toFixed(1), r.rest.ttftMsP50.toFixed(1), r.ttftRatio.toFixed(3)].join(' | '),
    );
    console.log(['clients | queue tok/s | REST tok/s | ratio | queue TTFT p50 ms | REST TTFT p50 ms | TTFT ratio', ...rows].join('\n'));
    if (env.IVL_BENCH_OUT) writeFileSync(env.IVL_BENCH_OUT, JSON.stringify(results, null, 2));
    for (const r of results) expect(r.throughputRatio).toBeGreaterThanOrEqual(0.95);
  }, 1_200_000);
});
