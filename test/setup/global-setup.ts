import { execFileSync, ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { redisReachable, startRedisServer } from '@ivl/local-cluster';

let redis: ChildProcess | undefined;

/**
 * Builds dist/ once (tests that start processes or worker threads run the current code) and makes sure a Redis is
 * reachable: the machine's own on 6379, or a redis-server started here on a free port for the whole run.
 */
export default async function setup(): Promise<() => void> {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'tools', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (!process.env.IVL_TEST_REDIS) {
    if (await redisReachable('redis://127.0.0.1:6379')) process.env.IVL_TEST_REDIS = 'redis://127.0.0.1:6379';
    else {
      const r = await startRedisServer();
      redis = r.proc;
      process.env.IVL_TEST_REDIS = r.url;
    }
  }
  return () => {
    redis?.kill();
  };
}
