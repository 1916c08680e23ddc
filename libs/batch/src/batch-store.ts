import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

export const FINAL_STATUSES: readonly BatchStatus[] = ['failed', 'completed', 'expired', 'cancelled'];

export interface BatchErrorEntry {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/** OpenAI's batch object. */
export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: string;
  errors: { object: 'list'; data: BatchErrorEntry[] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

const TIMES = ['in_progress_at', 'expires_at', 'finalizing_at', 'completed_at', 'failed_at', 'expired_at', 'cancelling_at', 'cancelled_at'] as const;

// Move to a new status only from one of the expected ones: the API (cancel) and the processor write concurrently.
const TRANSITION = `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return 0 end
for i = 3, 2 + tonumber(ARGV[1]) do if ARGV[i] == cur then
  redis.call('HSET', KEYS[1], 'status', ARGV[2])
  for j = 3 + tonumber(ARGV[1]), #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 1]) end
  return 1
end end
return 0`;

// A line's result is recorded once; the counters follow the results exactly even if two gateways race.
const RECORD = `
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[3], 1)
end
redis.call('HDEL', KEYS[3], ARGV[1])
return 1`;

export const newBatchId = () => `batch_${randomBytes(12).toString('hex')}`;

/**
 * Batch state in Redis: one hash per batch, plus its request lines (a list), the lines in flight (a hash
 * index → custom_id) and the per-line results (a hash index → output or error line).
 */
export class BatchStore {
  constructor(
    readonly redis: Redis,
    private readonly ns: string,
  ) {}

  key = (id: string) => `${this.ns}:batch:${id}`;
  linesKey = (id: string) => `${this.ns}:batch:${id}:lines`;
  resultsKey = (id: string) => `${this.ns}:batch:${id}:results`;
  inflightKey = (id: string) => `${this.ns}:batch:${id}:inflight`;
  lockKey = (id: string) => `${this.ns}:batch:${id}:lock`;
  activeKey = () => `${this.ns}:batches:active`;
  indexKey = () => `${this.ns}:batches`;

  async create(b: { inputFileId: string; endpoint: string; completionWindowSeconds: number; completionWindow: string; metadata: Record<string, string> | null; owner: string }): Promise<BatchObject> {
    const id = newBatchId();
    const now = Math.floor(Date.now() / 1000);
    await this.redis
      .multi()
      .hset(this.key(id), {
        id,
        owner: b.owner,
        endpoint: b.endpoint,
        input_file_id: b.inputFileId,
        completion_window: b.completionWindow,
        status: 'validating',
        created_at: now,
        expires_at: now + b.completionWindowSeconds,
        metadata: JSON.stringify(b.metadata),
        total: 0,
        completed: 0,
        failed: 0,
        next: 0,
      })
      .zadd(this.indexKey(), Date.now(), id)
      .sadd(this.activeKey(), id)
      .exec();
    return (await this.get(id, b.owner))!;
  }

  async raw(id: string): Promise<Record<string, string> | undefined> {
    const h = await this.redis.hgetall(this.key(id));
    return h.id ? h : undefined;
  }

  async get(id: string, owner: string): Promise<BatchObject | undefined> {
    const h = await this.raw(id);
    if (!h || h.owner !== owner) return undefined;
    return toBatchObject(h);
  }

  async list(owner: string, limit: number, after?: string): Promise<BatchObject[]> {
    const ids = await this.redis.zrevrange(this.indexKey(), 0, -1);
    const start = after ? ids.indexOf(after) + 1 : 0;
    const out: BatchObject[] = [];
    for (const id of ids.slice(start)) {
      const b = await this.get(id, owner);
      if (b) out.push(b);
      if (out.length >= limit) break;
    }
    return out;
  }

  async transition(id: string, from: readonly BatchStatus[], to: BatchStatus, fields: Record<string, string | number> = {}): Promise<boolean> {
    const flat = Object.entries(fields).flatMap(([k, v]) => [k, String(v)]);
    return (await this.redis.eval(TRANSITION, 1, this.key(id), String(from.length), to, ...from, ...flat)) === 1;
  }

  async record(id: string, index: number, kind: 'completed' | 'failed', line: string): Promise<void> {
    await this.redis.eval(RECORD, 3, this.key(id), this.resultsKey(id), this.inflightKey(id), String(index), `${kind === 'completed' ? 'o' : 'e'}${line}`, kind);
  }

  async results(id: string): Promise<Array<{ index: number; ok: boolean; line: string }>> {
    const h = await this.redis.hgetall(this.resultsKey(id));
    return Object.entries(h)
      .map(([k, v]) => ({ index: Number(k), ok: v[0] === 'o', line: v.slice(1) }))
      .sort((a, b) => a.index - b.index);
  }
}

export function toBatchObject(h: Record<string, string>): BatchObject {
  const time = (k: string) => (h[k] ? Number(h[k]) : null);
  const obj: BatchObject = {
    id: h.id,
    object: 'batch',
    endpoint: h.endpoint,
    errors: h.errors ? { object: 'list', data: JSON.parse(h.errors) as BatchErrorEntry[] } : null,
    input_file_id: h.input_file_id,
    completion_window: h.completion_window,
    status: h.status as BatchStatus,
    output_file_id: h.output_file_id || null,
    error_file_id: h.error_file_id || null,
    created_at: Number(h.created_at),
    in_progress_at: null,
    expires_at: null,
    finalizing_at: null,
    completed_at: null,
    failed_at: null,
    expired_at: null,
    cancelling_at: null,
    cancelled_at: null,
    request_counts: { total: Number(h.total ?? 0), completed: Number(h.completed ?? 0), failed: Number(h.failed ?? 0) },
    metadata: h.metadata ? (JSON.parse(h.metadata) as Record<string, string> | null) : null,
  };
  for (const k of TIMES) obj[k] = time(k);
  return obj;
}
