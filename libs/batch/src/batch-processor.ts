import { randomUUID } from 'node:crypto';
import { ApiError, isApiError, type PreparedChat } from '@ivl/openai-api';
import type { GenerateJobResult, JobStatus } from '@ivl/queue';
import { parseBatchInput } from './batch-input';
import { errorResponseLine, lineJobId, notRunLine, outputLine } from './batch-lines';
import { type BatchStatus, BatchStore } from './batch-store';
import type { FilesStore } from './files-store';
import { RedisLease } from './redis-lock';

/** What the processor needs from the serving side; the gateway implements it over GenerateClient. */
export interface BatchRunner {
  /** Validates and counts one request body; throws ApiError for a request that must not run. */
  prepare(body: Record<string, unknown>): Promise<PreparedChat>;
  /** Enqueues under a deterministic id; submitting an id again must not create a second job. */
  submit(prepared: PreparedChat, jobId: string): Promise<void>;
  status(jobId: string): Promise<JobStatus>;
  cancel(jobId: string): Promise<void>;
  /** The chat.completion body of a finished job. */
  completion(jobId: string, result: GenerateJobResult): unknown;
}

export interface BatchProcessorOptions {
  pollMs: number;
  /** Lines of one batch in the queue at once: big batches trickle in instead of flooding Redis. */
  window: number;
  maxLines: number;
  lockMs: number;
  log?: (msg: string) => void;
}

export const DEFAULT_BATCH_OPTIONS: BatchProcessorOptions = { pollMs: 500, window: 256, maxLines: 50_000, lockMs: 30_000 };

const STOPPING: Record<string, BatchStatus> = { cancelling: 'cancelled', expiring: 'expired' };

/**
 * Drives every active batch: validating → in_progress (lines submitted as queue jobs, results collected as they
 * finish) → finalizing → completed, with cancelling/expiry on the side. Every gateway runs one; a Redis lease per
 * batch lets one of them advance it at a time, and all state is in Redis, so a batch survives any gateway restart.
 */
export class BatchProcessor {
  private running = false;
  private loop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private readonly lease: RedisLease;

  constructor(
    private readonly store: BatchStore,
    private readonly files: FilesStore,
    private readonly runner: BatchRunner,
    private readonly opts: BatchProcessorOptions = DEFAULT_BATCH_OPTIONS,
  ) {
    this.lease = new RedisLease(store.redis, `batch-${randomUUID()}`, opts.lockMs);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.tick().catch((e) => this.opts.log?.(`batch processor: ${(e as Error).message}`));
        await new Promise<void>((r) => {
          this.wake = r;
          this.timer = setTimeout(r, this.opts.pollMs);
        });
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  /** One pass over all active batches (exposed for tests). */
  async tick(): Promise<void> {
    for (const id of await this.store.redis.smembers(this.store.activeKey())) {
      if (!(await this.lease.acquire(this.store.lockKey(id)))) continue;
      const done = await this.step(id);
      if (done) await this.lease.release(this.store.lockKey(id));
    }
  }

  /** Advances one batch; true when it reached a final state. */
  private async step(id: string): Promise<boolean> {
    const h = await this.store.raw(id);
    if (!h) {
      await this.store.redis.srem(this.store.activeKey(), id);
      return true;
    }
    switch (h.status as BatchStatus) {
      case 'validating':
        await this.validate(h);
        return false;
      case 'in_progress':
        if (Date.now() / 1000 > Number(h.expires_at) && !h.stopping) await this.store.redis.hset(this.store.key(id), 'stopping', 'expiring');
        return this.advance(id);
      case 'cancelling':
        if (!h.stopping) await this.store.redis.hset(this.store.key(id), 'stopping', 'cancelling');
        return this.advance(id);
      case 'finalizing':
        return this.finalize(id, 'completed');
      default:
        await this.store.redis.srem(this.store.activeKey(), id);
        return true;
    }
  }

  private async validate(h: Record<string, string>): Promise<void> {
    const id = h.id;
    const content = await this.files.content(h.input_file_id, h.owner);
    let lines;
    try {
      if (!content) throw new ApiError(400, 'invalid_request_error', 'file_not_found', `input file ${h.input_file_id} no longer exists`);
      lines = parseBatchInput(content.toString('utf8'), this.opts.maxLines);
    } catch (e) {
      if (!isApiError(e)) throw e;
      await this.store.transition(id, ['validating'], 'failed', {
        failed_at: now(),
        errors: JSON.stringify([{ code: e.code ?? 'invalid_batch_file', message: e.message, param: e.param, line: lineOf(e.message) }]),
      });
      await this.store.redis.srem(this.store.activeKey(), id);
      return;
    }
    const r = this.store.redis;
    await r.del(this.store.linesKey(id));
    for (let i = 0; i < lines.length; i += 1000) {
      await r.rpush(this.store.linesKey(id), ...lines.slice(i, i + 1000).map((l) => JSON.stringify({ custom_id: l.custom_id, body: l.body })));
    }
    await this.store.transition(id, ['validating'], 'in_progress', { in_progress_at: now(), total: lines.length, next: 0 });
  }

  private async advance(id: string): Promise<boolean> {
    await this.collect(id);
    const h = (await this.store.raw(id))!;
    const stopping = h.stopping;
    const inflight = await this.store.redis.hlen(this.store.inflightKey(id));
    if (stopping) {
      if (!h.cancel_sent) {
        const ids = await this.store.redis.hkeys(this.store.inflightKey(id));
        await Promise.all(ids.map((i) => this.runner.cancel(lineJobId(id, Number(i))).catch(() => undefined)));
        await this.store.redis.hset(this.store.key(id), 'cancel_sent', '1');
      }
      if (inflight > 0) return false;
      if (stopping === 'expiring') await this.recordNotRun(id, Number(h.next), Number(h.total));
      return this.finalize(id, STOPPING[stopping]);
    }
    const next = Number(h.next);
    const total = Number(h.total);
    if (next >= total) {
      if (inflight > 0) return false;
      await this.store.transition(id, ['in_progress'], 'finalizing', { finalizing_at: now() });
      return this.finalize(id, 'completed');
    }
    await this.submitMore(id, next, Math.min(this.opts.window - inflight, total - next));
    return false;
  }

  private async submitMore(id: string, next: number, count: number): Promise<void> {
    if (count <= 0) return;
    const raw = await this.store.redis.lrange(this.store.linesKey(id), next, next + count - 1);
    // A few lines at a time: preparing may download images.
    for (let g = 0; g < raw.length; g += 8) {
      await Promise.all(
        raw.slice(g, g + 8).map(async (text, k) => {
          const index = next + g + k;
          const { custom_id, body } = JSON.parse(text) as { custom_id: string; body: Record<string, unknown> };
          const jobId = lineJobId(id, index);
          let prepared: PreparedChat;
          try {
            prepared = await this.runner.prepare(body);
          } catch (e) {
            if (!isApiError(e)) throw e;
            await this.store.record(id, index, 'failed', errorResponseLine(jobId, custom_id, e.status, e.body()));
            return;
          }
          await this.runner.submit(prepared, jobId);
          await this.store.redis.hset(this.store.inflightKey(id), String(index), custom_id);
        }),
      );
      await this.store.redis.hset(this.store.key(id), 'next', String(next + Math.min(g + 8, raw.length)));
    }
  }

  /** Records the lines whose jobs have ended. */
  private async collect(id: string): Promise<void> {
    const inflight = await this.store.redis.hgetall(this.store.inflightKey(id));
    const stopping = !!(await this.store.redis.hget(this.store.key(id), 'stopping'));
    const entries = Object.entries(inflight);
    for (let g = 0; g < entries.length; g += 64) {
      await Promise.all(
        entries.slice(g, g + 64).map(async ([idx, customId]) => {
          const index = Number(idx);
          const jobId = lineJobId(id, index);
          const st = await this.runner.status(jobId);
          if (st.state === 'completed' && st.result) {
            if (st.result.finishReason === 'cancelled' || st.result.finishReason === 'error') {
              if (stopping) return this.drop(id, idx);
              return this.store.record(id, index, 'failed', errorResponseLine(jobId, customId, 500, errorBody('generation_failed', `generation ended with ${st.result.finishReason}`)));
            }
            return this.store.record(id, index, 'completed', outputLine(jobId, customId, this.runner.completion(jobId, st.result)));
          }
          if (st.state === 'failed') {
            return this.store.record(id, index, 'failed', errorResponseLine(jobId, customId, 500, errorBody('generation_failed', st.error ?? 'the job failed')));
          }
          if (st.state === 'unknown') {
            // Removed by our own cancel, or evicted from the queue before we saw its result.
            if (stopping) return this.drop(id, idx);
            return this.store.record(id, index, 'failed', errorResponseLine(jobId, customId, 500, errorBody('job_lost', 'the job disappeared from the queue before its result was collected')));
          }
        }),
      );
    }
  }

  private async drop(id: string, idx: string): Promise<void> {
    await this.store.redis.hdel(this.store.inflightKey(id), idx);
  }

  private async recordNotRun(id: string, from: number, total: number): Promise<void> {
    for (let i = from; i < total; i += 1000) {
      const raw = await this.store.redis.lrange(this.store.linesKey(id), i, Math.min(total, i + 1000) - 1);
      for (const [k, text] of raw.entries()) {
        const { custom_id } = JSON.parse(text) as { custom_id: string };
        await this.store.record(id, i + k, 'failed', notRunLine(lineJobId(id, i + k), custom_id, 'batch_expired', 'the batch expired before this request was run'));
      }
    }
    await this.store.redis.hset(this.store.key(id), 'next', String(total));
  }

  /** Writes the output and error files (fixed ids, so a repeat after a crash overwrites) and ends the batch. */
  private async finalize(id: string, status: BatchStatus): Promise<boolean> {
    const h = (await this.store.raw(id))!;
    const results = await this.store.results(id);
    const ok = results.filter((r) => r.ok).map((r) => r.line);
    const bad = results.filter((r) => !r.ok).map((r) => r.line);
    const fields: Record<string, string | number> = { [`${status}_at`]: now() };
    if (ok.length) {
      fields.output_file_id = (await this.files.create({ id: `file-${id}-output`, filename: `${id}_output.jsonl`, purpose: 'batch_output', data: Buffer.from(ok.join('\n') + '\n'), owner: h.owner })).id;
    }
    if (bad.length) {
      fields.error_file_id = (await this.files.create({ id: `file-${id}-errors`, filename: `${id}_error.jsonl`, purpose: 'batch_output', data: Buffer.from(bad.join('\n') + '\n'), owner: h.owner })).id;
    }
    await this.store.transition(id, ['in_progress', 'cancelling', 'finalizing', 'validating'], status, fields);
    await this.store.redis
      .multi()
      .srem(this.store.activeKey(), id)
      .del(this.store.linesKey(id), this.store.inflightKey(id), this.store.resultsKey(id))
      .exec();
    this.opts.log?.(`batch ${id} ${status}: ${ok.length} completed, ${bad.length} failed`);
    return true;
  }
}

const now = () => Math.floor(Date.now() / 1000);

const errorBody = (code: string, message: string) => ({ error: { message, type: 'server_error', param: null, code } });

function lineOf(message: string): number | null {
  const m = /^line (\d+)/.exec(message);
  return m ? Number(m[1]) : null;
}
