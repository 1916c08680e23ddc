import { LocalCluster, LocalClusterOptions, startLocalCluster } from '@ivl/local-cluster';
import type { StageClient } from '@ivl/pipeline';
import { testRedisUrl, tinyCheckpoint, uniquePrefix } from '@ivl/test-support';

export interface TestCluster extends LocalCluster {
  logs: string[];
}

/**
 * A real local cluster for one test: worker processes per stage (and the gateway when ports are given) on the test
 * Redis, with a queue prefix of its own. Logs are kept and printed if the test fails.
 */
export async function startTestCluster(o: Partial<LocalClusterOptions> & { model: string; stages: number }): Promise<TestCluster> {
  const logs: string[] = [];
  const cluster = await startLocalCluster({
    plan: 'card',
    dtype: 'fp32',
    redis: testRedisUrl(),
    queuePrefix: uniquePrefix('pipe'),
    threads: 1,
    kvBudgetMb: 256,
    ...o,
    log: (name, line) => {
      logs.push(`${name} | ${line}`);
      if (process.env.IVL_TEST_VERBOSE) console.error(`${name} | ${line}`);
    },
  });
  await cluster.waitReady(120_000).catch((e) => {
    console.error(logs.join('\n'));
    throw e;
  });
  return Object.assign(cluster, { logs });
}

/**
 * A whole local cluster with its gateway (2 stages of the tiny model served as `tiny`, loopback, free ports), once the
 * gateway itself is ready: its readiness (a pipeline announced on this queue prefix) may trail the driver's first
 * announce.
 */
export async function startServingCluster(label: string): Promise<TestCluster> {
  const cluster = await startLocalClusterWithLogs(label);
  try {
    await cluster.waitReady(240_000);
    for (let i = 0; (await fetch(`http://127.0.0.1:${cluster.httpPort}/readyz`)).status !== 200; i++) {
      if (i > 100) throw new Error('the gateway did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    console.error(cluster.logs.slice(-40).join('\n'));
    await cluster.stop();
    throw e;
  }
  return cluster;
}

async function startLocalClusterWithLogs(label: string): Promise<TestCluster> {
  const logs: string[] = [];
  const cluster = await startLocalCluster({
    model: tinyCheckpoint(),
    stages: 2,
    plan: 'card',
    dtype: 'fp32',
    redis: testRedisUrl(),
    queuePrefix: uniquePrefix(label),
    port: 0,
    grpcPort: 0,
    threads: 1,
    extraGatewayArgs: ['--served-model-name', 'tiny', '--host', '127.0.0.1'],
    log: (name, line) => logs.push(`${name} | ${line}`),
  });
  return Object.assign(cluster, { logs });
}

/**
 * Each stage's sequences beyond the cached prefixes (finished sequences whose KV the prefix cache keeps on every
 * stage on purpose, as stage 0 reports them): all 0 when no sequence is running and nothing leaked.
 */
export async function uncachedSequences(stages: StageClient[], timeoutMs?: number): Promise<number[]> {
  const health = await Promise.all(stages.map((s) => s.health(timeoutMs)));
  const cached = health[0].cached_prefixes ?? 0;
  return health.map((h) => h.sequences - cached);
}
