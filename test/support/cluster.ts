import { LocalCluster, LocalClusterOptions, startLocalCluster } from '@ivl/local-cluster';
import { testRedisUrl, uniquePrefix } from '@ivl/test-support';

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
