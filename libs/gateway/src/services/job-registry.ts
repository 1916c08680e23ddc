import type { Redis } from 'ioredis';
import type { Principal } from '@ivl/client-grpc';

const TTL_SECONDS = 24 * 3600;

export interface JobRecord {
  owner: string;
  promptTokens: number;
  cancelled: boolean;
}

/** Who submitted which job (GetJob and CancelJob answer only their owner), kept as long as BullMQ keeps results. */
export class JobRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  private key = (jobId: string) => `${this.ns}:job:${jobId}`;

  async register(jobId: string, who: Principal, promptTokens: number): Promise<void> {
    await this.redis.multi().hset(this.key(jobId), 'owner', who.id, 'promptTokens', String(promptTokens)).expire(this.key(jobId), TTL_SECONDS).exec();
  }

  async get(jobId: string, who: Principal): Promise<JobRecord | undefined> {
    const h = await this.redis.hgetall(this.key(jobId));
    if (!h.owner || h.owner !== who.id) return undefined;
    return { owner: h.owner, promptTokens: Number(h.promptTokens), cancelled: h.cancelled === '1' };
  }

  async markCancelled(jobId: string): Promise<void> {
    await this.redis.hset(this.key(jobId), 'cancelled', '1');
  }
}
