import type { Redis } from 'ioredis';
import { keys } from './keys';
import { FinishReason, JobTokenLogprob } from './job-schema';

/** One entry of a job's token stream. */
export type TokenEvent =
  | { id: string; kind: 'tokens'; index: number; tokens: number[]; delta: string; logprobs?: JobTokenLogprob[] }
  | { id: string; kind: 'end'; finishReason: FinishReason; error?: string; cachedTokens?: number };

const STREAM_TTL_SECONDS = 24 * 3600;

// XADD only while this writer still owns the stream: a stalled attempt that wakes up after BullMQ re-ran its job
// can no longer append, so a retried job never duplicates output. The append is also idempotent: ioredis resends a
// command whose reply was lost when Redis went away, and a resent entry (an index already written, or anything
// after the end) is dropped rather than written twice; an index past the stream's end is refused as a gap.
const FENCED_XADD = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return redis.error_reply('FENCED') end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local kind, nextIndex = nil, 0
if last then
  local f, i, n = last[2], 0, 0
  for j = 1, #f, 2 do
    if f[j] == 'k' then kind = f[j + 1]
    elseif f[j] == 'i' then i = tonumber(f[j + 1])
    elseif f[j] == 'ids' and #f[j + 1] > 0 then n = select(2, string.gsub(f[j + 1], ',', '')) + 1 end
  end
  nextIndex = i + n
end
if kind == 'e' then return false end
if ARGV[4] == 't' then
  local index = tonumber(ARGV[6])
  if index < nextIndex then return false end
  if index > nextIndex then return redis.error_reply('GAP at ' .. index .. ', stream ends at ' .. nextIndex) end
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return id`;

/**
 * This attempt no longer owns the job's token stream: a later attempt claimed it, or Redis lost the owner key (a
 * restart without persistence). The attempt must stop; BullMQ retries the job if it is still this attempt's.
 */
export class StreamFencedError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId}: this attempt no longer owns the token stream (claimed by a later attempt, or lost in a Redis restart)`);
    this.name = 'StreamFencedError';
  }
}

/**
 * The writer side of a job's token stream (a Redis Stream per job). An attempt claims the stream, reads what
 * earlier attempts already published (to replay those tokens instead of re-sending them), and appends from there.
 */
export class TokenStreamWriter {
  private constructor(
    private readonly redis: Redis,
    private readonly jobId: string,
    private readonly owner: string,
    readonly published: number[],
    /** Log-probabilities of the published tokens, when they were asked for. */
    readonly publishedLogprobs: JobTokenLogprob[] = [],
  ) {}

  static async claim(redis: Redis, jobId: string, owner: string): Promise<TokenStreamWriter> {
    await redis.set(keys.streamOwner(jobId), owner, 'EX', STREAM_TTL_SECONDS);
    const published: number[] = [];
    const logprobs: JobTokenLogprob[] = [];
    let ended = false;
    for (const e of await readAll(redis, jobId)) {
      if (e.kind === 'tokens') {
        if (e.index !== published.length) throw new Error(`token stream of job ${jobId} is inconsistent at entry ${e.id}`);
        published.push(...e.tokens);
        if (e.logprobs) logprobs.push(...e.logprobs);
      } else ended = true;
    }
    const w = new TokenStreamWriter(redis, jobId, owner, published, logprobs);
    w.ended = ended;
    return w;
  }

  ended = false;
  private chain: Promise<void> = Promise.resolve();
  /** The first append that failed; later queued appends are skipped (the stream must not get a gap). */
  failure?: Error;

  /**
   * Queues an append behind the earlier ones, so entries keep their order without the caller waiting. A failed
   * append (fenced off, Redis full or gone) never becomes an unhandled rejection: it is kept in `failure`,
   * reported once through `onFailure`, and rethrown by `flush()`.
   */
  appendInOrder(index: number, tokens: number[], delta: string, logprobs?: JobTokenLogprob[], onFailure?: (e: Error) => void): void {
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        await this.append(index, tokens, delta, logprobs);
      } catch (e) {
        this.failure = e as Error;
        onFailure?.(this.failure);
      }
    });
  }

  /** Waits for every queued append; rejects with the first failure. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure;
  }

  async append(index: number, tokens: number[], delta: string, logprobs?: JobTokenLogprob[]): Promise<void> {
    await this.xadd(['k', 't', 'i', String(index), 'ids', tokens.join(','), 'd', delta, ...(logprobs?.length ? ['lp', JSON.stringify(logprobs)] : [])]);
  }

  /** Ends the stream; `cachedTokens` (prompt positions served by the prefix cache) goes to the usage of streamed answers. */
  async end(finishReason: FinishReason, error?: string, cachedTokens?: number): Promise<void> {
    if (this.ended) return;
    await this.xadd(['k', 'e', 'f', finishReason, ...(error ? ['err', error] : []), ...(cachedTokens ? ['c', String(cachedTokens)] : [])]);
    this.ended = true;
  }

  private async xadd(fields: string[]): Promise<void> {
    try {
      await this.redis.eval(FENCED_XADD, 2, keys.tokens(this.jobId), keys.streamOwner(this.jobId), this.owner, String(STREAM_TTL_SECONDS), ...fields);
    } catch (e) {
      if (/FENCED/.test((e as Error).message)) throw new StreamFencedError(this.jobId);
      throw e;
    }
  }
}

export function parseEntry(id: string, fields: string[]): TokenEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  if (f.k === 'e') return { id, kind: 'end', finishReason: f.f as FinishReason, error: f.err, ...(f.c ? { cachedTokens: Number(f.c) } : {}) };
  const e: TokenEvent = { id, kind: 'tokens', index: Number(f.i), tokens: f.ids ? f.ids.split(',').map(Number) : [], delta: f.d ?? '' };
  if (f.lp) e.logprobs = JSON.parse(f.lp) as JobTokenLogprob[];
  return e;
}

async function readAll(redis: Redis, jobId: string): Promise<TokenEvent[]> {
  const rows = (await redis.xrange(keys.tokens(jobId), '-', '+')) as Array<[string, string[]]>;
  return rows.map(([id, fields]) => parseEntry(id, fields));
}

/**
 * Reads a job's token stream from `fromId` (exclusive; '0' for the start), blocking for new entries, until the end
 * entry. A reader that reconnects passes the last id it saw and continues without gaps or repeats.
 */
export async function* readTokenStream(redis: Redis, jobId: string, fromId = '0', blockMs = 5000, signal?: AbortSignal): AsyncGenerator<TokenEvent> {
  let last = fromId;
  while (!signal?.aborted) {
    const res = (await redis.xread('COUNT', 256, 'BLOCK', blockMs, 'STREAMS', keys.tokens(jobId), last)) as Array<[string, Array<[string, string[]]>]> | null;
    if (!res) continue;
    for (const [id, fields] of res[0][1]) {
      last = id;
      const e = parseEntry(id, fields);
      yield e;
      if (e.kind === 'end') return;
    }
  }
}
