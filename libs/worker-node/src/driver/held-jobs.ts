import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** Where a driver notes the jobs it holds, so that its next life can take them back. */
export const heldJobsKey = (pipelineId: string) => `ivl:held:${pipelineId}`;
/** Where it notes the finished sequences whose KV it keeps on every stage as cached prefixes. */
export const cachedPrefixesKey = (pipelineId: string) => `ivl:held-prefixes:${pipelineId}`;

interface Held {
  token: string;
  seq: string;
}

/**
 * The jobs this stage-0 driver is running, with their BullMQ lock tokens and sequence ids, kept in Redis.
 *
 * A driver that is killed leaves its jobs locked until BullMQ's lock expires (a minute), and their KV on the other
 * stages until they are evicted as idle. Its next life (the same pipeline id: a restarted process, a StatefulSet pod)
 * reads this record, frees those sequences on every stage and moves the jobs straight back to the wait list with
 * their own lock tokens, so they are retried at once instead of after the lock timeout. The cached prefixes it kept
 * on every stage are freed the same way.
 */
export class HeldJobs {
  constructor(private readonly redis: Redis, private readonly pipelineId: string) {}

  hold(jobId: string, token: string, seq: string): Promise<unknown> {
    return this.redis.hset(heldJobsKey(this.pipelineId), jobId, JSON.stringify({ token, seq } satisfies Held));
  }

  drop(jobId: string): Promise<unknown> {
    return this.redis.hdel(heldJobsKey(this.pipelineId), jobId);
  }

  /** A finished sequence stays on every stage as a cached prefix: a next life must free it (its index is gone). */
  holdCached(seq: string): Promise<unknown> {
    return this.redis.sadd(cachedPrefixesKey(this.pipelineId), seq);
  }

  dropCached(seqs: string[]): Promise<unknown> {
    return seqs.length ? this.redis.srem(cachedPrefixesKey(this.pipelineId), ...seqs) : Promise.resolve(0);
  }

  /**
   * Takes back what a previous life left: `release` frees the sequences (on every stage), then each job still
   * active under the recorded lock is moved back to waiting. Returns the ids of the jobs moved back.
   */
  async reclaim(queue: Queue, release: (seqs: string[]) => Promise<void>): Promise<string[]> {
    const cached = await this.redis.smembers(cachedPrefixesKey(this.pipelineId));
    if (cached.length) {
      await release(cached);
      await this.dropCached(cached);
    }
    const all = await this.redis.hgetall(heldJobsKey(this.pipelineId));
    const entries = Object.entries(all).flatMap(([jobId, v]) => {
      try {
        return [{ jobId, ...(JSON.parse(v) as Held) }];
      } catch {
        return [];
      }
    });
    if (!entries.length) return [];
    await release(entries.map((e) => e.seq));
    const moved: string[] = [];
    for (const e of entries) {
      const job = await Job.fromId(queue, e.jobId);
      if (job && (await job.getState()) === 'active') {
        // Fails harmlessly when the lock has expired meanwhile (BullMQ's stalled check then owns the job).
        if (await job.moveToWait(e.token).then(() => true, () => false)) moved.push(e.jobId);
      }
      await this.drop(e.jobId);
    }
    return moved;
  }
}
