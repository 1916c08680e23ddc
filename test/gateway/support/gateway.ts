import IORedis from 'ioredis';
import { type GatewayHandle, type GatewayOptions, startGateway } from '@ivl/gateway';
import { GenerateClient } from '@ivl/queue';
import { testRedisUrl, tinyCheckpoint, uniquePrefix } from '@ivl/test-support';

export const MODEL = 'tiny';

export interface TestGateway extends GatewayHandle {
  prefix: string;
  pipelinesKey: string;
  logs: string[];
  /** A producer on the same queue, for pre-filling it and inspecting jobs. */
  queue: GenerateClient;
  redis: IORedis;
  /** Announces (or withdraws) a live pipeline for this gateway, refreshed every 500 ms while on. */
  pipeline(on: boolean): Promise<void>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * A gateway in this process on free ports, with its own queue prefix and its own pipelines hash, so tests never see
 * the pipelines of clusters other people run on the same Redis. `shared` puts a second gateway on the same queue.
 */
export async function startTestGateway(label: string, opts: Partial<GatewayOptions> = {}, shared?: { prefix: string }): Promise<TestGateway> {
  const prefix = shared?.prefix ?? uniquePrefix(label);
  const pipelinesKey = `${prefix}:pipelines`;
  const logs: string[] = [];
  const sink = (level: string) => (m: string) => logs.push(`${level} ${m}`);
  const gw = await startGateway({
    modelDir: tinyCheckpoint(),
    redisUrl: testRedisUrl(),
    queuePrefix: prefix,
    host: '127.0.0.1',
    port: 0,
    grpcPort: 0,
    servedModelName: MODEL,
    pipelinesKey,
    logger: { log: sink('log'), warn: sink('warn'), error: sink('error') },
    batchProcessor: { pollMs: 50 },
    ...opts,
  });
  const redis = new IORedis(testRedisUrl());
  const queue = new GenerateClient(testRedisUrl(), { prefix });
  let timer: NodeJS.Timeout | undefined;
  const announce = () => redis.hset(pipelinesKey, 'p1', JSON.stringify({ id: 'p1', stages: 1, ready: true, updatedAt: Date.now(), queuePrefix: prefix }));
  const auth: Record<string, string> = opts.apiKeys?.length ? { authorization: `Bearer ${opts.apiKeys[0]}` } : {};
  return {
    ...gw,
    prefix,
    pipelinesKey,
    logs,
    queue,
    redis,
    async pipeline(on) {
      clearInterval(timer);
      if (on) {
        await announce();
        timer = setInterval(() => void announce(), 500);
      } else await redis.del(pipelinesKey);
    },
    post: (path, body, headers = {}) =>
      fetch(gw.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...auth, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
    get: (path, headers = {}) => fetch(gw.url + path, { headers: { ...auth, ...headers } }),
    async stop() {
      clearInterval(timer);
      await gw.close(2000);
      if (!shared) await queue.queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await redis.del(pipelinesKey);
      redis.disconnect();
    },
  };
}

/** Asserts an OpenAI error response and returns its body. */
export async function expectError(res: Response, status: number, code: string | null, param?: string | null): Promise<{ error: { message: string; type: string; param: string | null; code: string | null } }> {
  const body = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
  const got = { status: res.status, code: body.error?.code, ...(param !== undefined ? { param: body.error?.param } : {}) };
  const want = { status, code, ...(param !== undefined ? { param } : {}) };
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}: ${JSON.stringify(body)}`);
  if (typeof body.error.message !== 'string' || !body.error.message || typeof body.error.type !== 'string') throw new Error(`malformed error body ${JSON.stringify(body)}`);
  return body;
}
