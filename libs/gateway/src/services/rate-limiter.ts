import type { Redis } from 'ioredis';
import { tooManyRequests } from '@ivl/openai-api';
import type { Principal } from '@ivl/client-grpc';

// Count this request in the current window and report the count and the time left in the window.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

export interface RateState {
  limit: number;
  remaining: number;
  resetMs: number;
}

/**
 * Requests per minute per API key, counted in Redis so the limit holds across gateway replicas and over REST and
 * gRPC together. A fixed one-minute window: simple, one round trip, and at worst 2× the rate across a boundary.
 */
export class RateLimiter {
  private readonly windowMs = 60_000;

  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    private readonly perMinute: number,
  ) {}

  async hit(p: Principal): Promise<RateState | undefined> {
    if (!this.perMinute) return undefined;
    const [n, pttl] = (await this.redis.eval(HIT, 1, `${this.ns}:rl:${p.id}`, String(this.windowMs))) as [number, number];
    const resetMs = pttl > 0 ? pttl : this.windowMs;
    if (n > this.perMinute) {
      throw tooManyRequests('rate_limit_exceeded', `Rate limit reached: ${this.perMinute} requests per minute for this API key. Retry after ${Math.ceil(resetMs / 1000)} s.`, resetMs / 1000);
    }
    return { limit: this.perMinute, remaining: this.perMinute - n, resetMs };
  }
}
