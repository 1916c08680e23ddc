import { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import IORedis from 'ioredis';
import { WeightFormat, ensureBundleLocked } from '@ivl/compiler';
import { planCosts } from '@ivl/requests';
import { parsePlan } from '@ivl/plan';
import { keys } from '@ivl/queue';
import { freePort } from './ports';
import { redisReachable, startRedisServer } from './redis-server';
import { Supervised } from './supervisor';

export interface LocalClusterOptions {
  model: string;
  stages: number;
  /** card or balanced (the stage count is appended), or a full plan spec. */
  plan: string;
  dtype: WeightFormat;
  redis?: string;
  queuePrefix?: string;
  /** REST and gRPC ports of the gateway (0 = pick free ones; undefined = no gateway). */
  port?: number;
  grpcPort?: number;
  threads?: number;
  kvBudgetMb?: number;
  cacheDir?: string;
  /** Address the gateway listens on (default 127.0.0.1); stages and metrics stay on loopback. */
  host?: string;
  extraWorkerArgs?: string[];
  extraGatewayArgs?: string[];
  log?: (name: string, line: string) => void;
  onConvertProgress?: (done: number, total: number) => void;
}

export interface LocalCluster {
  redisUrl: string;
  queuePrefix?: string;
  plan: string;
  stagePorts: number[];
  /** Prometheus /metrics port of each stage worker. */
  metricsPorts: number[];
  workers: Supervised[];
  gateway?: Supervised;
  httpPort?: number;
  grpcPort?: number;
  waitReady(timeoutMs?: number): Promise<void>;
  /** In order: the gateway finishes running requests (its own grace), then the stages drain and stop. */
  stop(): Promise<void>;
  /** SIGKILLs every process now. */
  kill(): Promise<void>;
}

let clusterCount = 0;

/** dist/ (the bundled apps), found from the bundle itself or from the sources (tests). */
export function distDir(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'worker.js')) && existsSync(join(dir, 'ort-thread.js'))) return dir;
    if (existsSync(join(dir, 'dist', 'worker.js'))) return join(dir, 'dist');
    if (dirname(dir) === dir) throw new Error('dist/worker.js not found: run `npm run build`');
  }
}

/**
 * `ivl up`: a whole cluster on this machine. Uses the given Redis, or the machine's on 6379, or starts a
 * redis-server; converts the checkpoint once; starts one worker process per stage (restarted if it dies, as
 * Kubernetes would) and the gateway; `stop()` takes everything down that it started.
 */
export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const log = o.log ?? ((name, line) => console.error(`${name.padEnd(8)} | ${line}`));
  let redisUrl = o.redis;
  let redisProc: ChildProcess | undefined;
  if (redisUrl) {
    if (!(await redisReachable(redisUrl))) throw new Error(`no Redis answers at ${redisUrl}`);
  } else if (await redisReachable('redis://127.0.0.1:6379')) {
    redisUrl = 'redis://127.0.0.1:6379';
    // Say so: the queue, token streams and media then live in database 0 of a Redis someone else may use.
    log('redis', `using the Redis already running at ${redisUrl} (database 0); --redis redis://127.0.0.1:6379/N picks another database, --queue-prefix keeps clusters apart`);
  }
  else {
    const r = await startRedisServer();
    redisUrl = r.url;
    redisProc = r.proc;
    log('redis', `started redis-server at ${redisUrl}`);
  }
  const { manifest } = await ensureBundleLocked(o.model, { dtype: o.dtype, cacheDir: o.cacheDir, onProgress: o.onConvertProgress });
  const planSpec = /^(card|balanced)$/.test(o.plan) ? `${o.plan}:${o.stages}` : o.plan;
  const plan = parsePlan(planSpec, manifest.config.llm.numLayers, planCosts(manifest.config));
  if (plan.stages.length !== o.stages) throw new Error(`plan ${plan.name} has ${plan.stages.length} stages, not ${o.stages}`);

  const dist = distDir();
  const ports = await Promise.all(plan.stages.map(() => freePort()));
  const metricsPorts = await Promise.all(plan.stages.map(() => freePort()));
  const peers = ports.map((p) => `127.0.0.1:${p}`).join(',');
  const threads = o.threads ?? Math.max(1, Math.floor(cpus().length / o.stages));
  const pipelineId = `local-${process.pid}-${(clusterCount++).toString(36)}`;
  // Outputs are copied into fresh buffers on every run; larger malloc thresholds avoid page faults on each copy.
  const env = { MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '4294967296' };
  const workers = plan.stages.map((_, k) => {
    const args = [join(dist, 'worker.js'), '--model', o.model, '--dtype', o.dtype, '--plan', planSpec, '--stage', String(k), '--peers', peers, '--threads', String(threads), '--pipeline-id', pipelineId, '--metrics-port', String(metricsPorts[k])];
    if (o.kvBudgetMb) args.push('--kv-budget-mb', String(o.kvBudgetMb));
    if (o.cacheDir) args.push('--cache-dir', o.cacheDir);
    if (k === 0) args.push('--redis', redisUrl!, ...(o.queuePrefix ? ['--queue-prefix', o.queuePrefix] : []));
    args.push(...(o.extraWorkerArgs ?? []));
    const w = new Supervised({ name: `stage${k}`, args, env }, log);
    w.on('restart', (name, n) => log(name, `restarted (${n})`));
    return w;
  });

  let gateway: Supervised | undefined;
  let httpPort: number | undefined;
  let grpcPort: number | undefined;
  if (o.port !== undefined && existsSync(join(dist, 'gateway.js'))) {
    httpPort = o.port || (await freePort());
    grpcPort = o.grpcPort || (await freePort());
    const args = [join(dist, 'gateway.js'), '--model', o.model, '--redis', redisUrl, '--port', String(httpPort), '--grpc-port', String(grpcPort), '--host', o.host ?? '127.0.0.1'];
    if (o.queuePrefix) args.push('--queue-prefix', o.queuePrefix);
    args.push(...(o.extraGatewayArgs ?? []));
    gateway = new Supervised({ name: 'gateway', args }, log);
  }

  const redis = new IORedis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined); // reconnects by itself; waitReady and stop tolerate an outage
  return {
    redisUrl,
    queuePrefix: o.queuePrefix,
    plan: plan.name,
    stagePorts: ports,
    metricsPorts,
    workers,
    gateway,
    httpPort,
    grpcPort,
    async waitReady(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const v = await redis.hget(keys.pipelines, pipelineId).catch(() => null);
        const gatewayUp = !httpPort || (await fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.ok, () => false));
        if (v && JSON.parse(v).ready && gatewayUp) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the local cluster was not ready within ${timeoutMs} ms`);
    },
    async kill() {
      for (const p of [gateway, ...workers]) p?.stop(0);
      redisProc?.kill();
    },
    async stop() {
      // The gateway's shutdown grace is 30 s: it is killed only after that.
      await gateway?.stop(35_000);
      await Promise.all(workers.map((w) => w.stop()));
      await redis.hdel(keys.pipelines, pipelineId).catch(() => undefined);
      redis.disconnect();
      redisProc?.kill();
    },
  };
}
