import type { Redis } from 'ioredis';

/** What a stage-0 driver writes into the pipelines hash (one field per pipeline), refreshed every second. */
export interface PipelineAnnouncement {
  id: string;
  stages?: number;
  ready: boolean;
  updatedAt: number;
  model?: string;
  plan?: unknown;
  /** The queue the pipeline consumes; absent for the default queue. */
  queuePrefix?: string;
}

/** A pipeline counts only while its driver keeps refreshing: a dead one stops counting after this long. */
export const PIPELINE_STALE_MS = 5000;

/**
 * Readiness from Redis: reachable, and at least one complete pipeline announced ready within the last 5 s that
 * consumes our queue (several clusters may share one Redis under different queue prefixes).
 */
export class PipelineReadiness {
  private cache?: { at: number; ready: boolean };
  /** The latest moment a pipeline of our queue was seen ready (from its announcements). */
  private lastReadyAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly queuePrefix?: string,
  ) {}

  async pipelines(): Promise<PipelineAnnouncement[]> {
    const h = await this.redis.hgetall(this.key);
    const out: PipelineAnnouncement[] = [];
    for (const v of Object.values(h)) {
      try {
        const p = JSON.parse(v) as PipelineAnnouncement;
        if ((p.queuePrefix || undefined) === (this.queuePrefix || undefined)) out.push(p);
      } catch {
        // A malformed entry is not a ready pipeline.
      }
    }
    return out;
  }

  static live(p: PipelineAnnouncement, now = Date.now()): boolean {
    return p.ready === true && typeof p.updatedAt === 'number' && now - p.updatedAt <= PIPELINE_STALE_MS;
  }

  /** Cached for half a second: every generation request asks, the answer changes at most once a second. */
  async anyReady(): Promise<boolean> {
    const now = Date.now();
    if (this.cache && now - this.cache.at < 500) return this.cache.ready;
    const all = await this.pipelines();
    const ready = all.some((p) => PipelineReadiness.live(p, now));
    for (const p of all) if (p.ready === true && typeof p.updatedAt === 'number') this.lastReadyAt = Math.max(this.lastReadyAt, Math.min(p.updatedAt, now));
    if (ready) this.lastReadyAt = now;
    this.cache = { at: now, ready };
    return ready;
  }

  /**
   * Whether work may be queued now: a pipeline is ready, or one was ready within `graceMs` (a stage restarting, a
   * ring reconnecting) and will take the queued work when it is back.
   */
  async admits(graceMs: number): Promise<boolean> {
    if (await this.anyReady()) return true;
    return graceMs > 0 && Date.now() - this.lastReadyAt <= graceMs;
  }
}
