import type { Redis } from 'ioredis';

// Take the lock when free, or extend it when we already hold it; never touch someone else's.
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * A lease in Redis: one gateway at a time advances a given batch. The work done under it is idempotent anyway
 * (deterministic job ids, set-if-absent results), so a lease lost to a pause costs time, never duplicates.
 */
export class RedisLease {
  constructor(
    private readonly redis: Redis,
    private readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  async acquire(key: string): Promise<boolean> {
    return (await this.redis.eval(ACQUIRE, 1, key, this.owner, String(this.ttlMs))) === 1;
  }

  async release(key: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, key, this.owner);
  }
}
