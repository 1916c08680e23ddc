import { randomInt, randomUUID } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { tracingEnabled } from '@ivl/telemetry';
import IORedis, { Redis } from 'ioredis';
import { BlobStore, jobBlobs } from './blob-store';
import { GENERATE_JOB, GENERATE_QUEUE, GenerateInput, GenerateJobData, GenerateJobResult, JobGrammar, JobSampling } from './job-schema';
import { keys } from './keys';
import { TokenEvent, parseEntry } from './token-stream';

export interface SubmitOptions {
  jobId?: string;
  priority?: number;
  /** Attempts before the job is failed for good (a dead stage makes an attempt fail; it is retried with backoff). */
  attempts?: number;
  /** GenerateJobData.choiceGroup: the same for every choice of one request. */
  choiceGroup?: string;
}

/** Media passed to `submit` as bytes; the client stores them as blobs. */
export interface SubmitRequest {
  model?: string;
  input: Omit<GenerateInput, 'images' | 'video'> & {
    images?: Array<{ data: Uint8Array; maxNum?: number }>;
    video?: { data: Uint8Array; numSegments: number; bound?: [number, number] };
  };
  sampling?: Partial<JobSampling>;
  grammar?: JobGrammar;
  rawPrompt?: boolean;
  returnTokens?: boolean;
}

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'prioritized' | 'waiting-children' | 'unknown';

export interface JobStatus {
  id: string;
  state: JobState;
  result?: GenerateJobResult;
  error?: string;
  attemptsMade: number;
}

/**
 * The public way to send generation work to the cluster without the gateway: enqueue, follow the token stream,
 * await the result, cancel. Used by the gateway, `ivl generate` and users' own services.
 */
export class GenerateClient {
  readonly queue: Queue<GenerateJobData, GenerateJobResult>;
  private readonly redis: Redis;
  private readonly blobs: BlobStore;
  private readonly readers = new Set<Redis>();
  /** BullMQ does not close a connection it was handed, so the client owns and closes it. */
  private readonly queueConnection: Redis;

  constructor(readonly redisUrl: string, opts: { prefix?: string; onError?: (e: Error) => void } = {}) {
    this.redis = new IORedis(redisUrl, { maxRetriesPerRequest: 3, enableOfflineQueue: true, lazyConnect: false });
    this.queueConnection = this.redis.duplicate();
    // ioredis reports connection errors as 'error' events; without a listener each one is logged as unhandled.
    const onError = opts.onError ?? (() => undefined);
    this.redis.on('error', onError);
    this.queueConnection.on('error', onError);
    // With tracing on, each job carries its producer's trace context to the pipeline that runs it.
    this.queue = new Queue(GENERATE_QUEUE, {
      connection: this.queueConnection,
      prefix: opts.prefix,
        telemetry: tracingEnabled() ? new BullMQOtel({ tracerName: 'ivl-cluster' }) : undefined,
    });
    this.queue.on('error', onError);
    this.blobs = new BlobStore(this.redis);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async submit(req: SubmitRequest, opts: SubmitOptions = {}): Promise<string> {
    const images = await Promise.all((req.input.images ?? []).map(async (im) => ({ blob: await this.blobs.put(im.data), maxNum: im.maxNum })));
    const video = req.input.video ? { blob: await this.blobs.put(req.input.video.data), numSegments: req.input.video.numSegments, bound: req.input.video.bound } : undefined;
    const s = req.sampling ?? {};
    const data: GenerateJobData = {
      v: 1,
      model: req.model ?? 'default',
      input: { ...req.input, images: images.length ? images : undefined, video },
      sampling: {
        maxNewTokens: s.maxNewTokens ?? 256,
        temperature: s.temperature ?? 1,
        topK: s.topK ?? 0,
        topP: s.topP ?? 1,
        repetitionPenalty: s.repetitionPenalty ?? 1,
        seed: s.seed ?? randomInt(2 ** 31),
        stop: s.stop ?? [],
        ignoreEos: s.ignoreEos,
        presencePenalty: s.presencePenalty,
        frequencyPenalty: s.frequencyPenalty,
        minP: s.minP,
        logitBias: s.logitBias,
        logprobs: s.logprobs,
        skipSpecialTokens: s.skipSpecialTokens,
      },
      grammar: req.grammar,
      rawPrompt: req.rawPrompt,
      returnTokens: req.returnTokens,
      enqueuedAt: Date.now(),
      ...(opts.choiceGroup ? { choiceGroup: opts.choiceGroup } : {}),
    };
    const jobId = opts.jobId ?? randomUUID();
    try {
      await this.queue.add(GENERATE_JOB, data, {
        jobId,
        priority: opts.priority,
        attempts: opts.attempts ?? 5,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: { age: 24 * 3600, count: 10000 },
        removeOnFail: { age: 24 * 3600 },
      });
    } catch (e) {
      await this.blobs.release(jobBlobs(data)).catch(() => undefined);
      throw e;
    }
    return jobId;
  }

  /**
   * Token events from `fromId` until the end of generation; ends with an 'end' event even if the job failed.
   * An abort ends the iteration at once (the blocked read is interrupted, its connection closed).
   */
  async *stream(jobId: string, fromId = '0', signal?: AbortSignal): AsyncGenerator<TokenEvent> {
    if (signal?.aborted) return;
    // XREAD BLOCK holds its connection, so each reader gets its own.
    const reader = this.redis.duplicate();
    reader.on('error', () => undefined);
    this.readers.add(reader);
    const onAbort = () => reader.disconnect();
    signal?.addEventListener('abort', onAbort, { once: true });
    // The stream is resumable, so a Redis restart is ridden out: reads are retried from the last entry seen for
    // up to this long before the error is passed on.
    const outageMs = 30_000;
    let failingSince = 0;
    const retryable = async (e: unknown): Promise<boolean> => {
      if (signal?.aborted || !isConnectionError(e)) return false;
      failingSince ||= Date.now();
      if (Date.now() - failingSince > outageMs) return false;
      await new Promise((r) => setTimeout(r, 250));
      return !signal?.aborted;
    };
    try {
      let last = fromId;
      while (!signal?.aborted) {
        let res: Array<[string, Array<[string, string[]]>]> | null;
        try {
          res = (await reader.xread('COUNT', 256, 'BLOCK', 1000, 'STREAMS', keys.tokens(jobId), last)) as typeof res;
        } catch (e) {
          if (signal?.aborted) return;
          if (await retryable(e)) continue;
          throw e;
        }
        failingSince = 0;
        if (res) {
          for (const [id, fields] of res[0][1]) {
            last = id;
            const e = parseEntry(id, fields);
            yield e;
            if (e.kind === 'end') return;
          }
          continue;
        }
        // Nothing new within the block window: the job may have ended without an end entry (its worker died).
        let st: JobStatus;
        try {
          st = await this.status(jobId);
        } catch (e) {
          if (await retryable(e)) continue;
          throw e;
        }
        if (st.state === 'failed' || st.state === 'unknown') {
          yield { id: last, kind: 'end', finishReason: 'error', error: st.error ?? `job ${jobId} is ${st.state}` };
          return;
        }
        if (st.state === 'completed' && st.result) {
          yield { id: last, kind: 'end', finishReason: st.result.finishReason };
          return;
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.readers.delete(reader);
      reader.disconnect();
    }
  }

  /** Token-stream readers open now (each holds a Redis connection): 0 once every relay has ended. */
  get openReaders(): number {
    return this.readers.size;
  }

  async status(jobId: string): Promise<JobStatus> {
    const job = await Job.fromId<GenerateJobData, GenerateJobResult>(this.queue, jobId);
    if (!job) return { id: jobId, state: 'unknown', attemptsMade: 0 };
    const state = (await job.getState()) as JobState;
    return { id: jobId, state, result: job.returnvalue ?? undefined, error: job.failedReason || undefined, attemptsMade: job.attemptsMade };
  }

  /**
   * Waits for the final result (text, token counts, finish reason). The deadline covers the whole wait, a job
   * still sitting in the queue included: past it this rejects with a TimeoutError (the job is left as it is).
   */
  async result(jobId: string, timeoutMs = 600_000): Promise<GenerateJobResult> {
    const deadline = Date.now() + timeoutMs;
    const timedOut = () => Object.assign(new Error(`job ${jobId} did not finish within ${timeoutMs} ms`), { name: 'TimeoutError' });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      for await (const e of this.stream(jobId, '0', abort.signal)) if (e.kind === 'end') break;
      for (;;) {
        if (abort.signal.aborted || Date.now() > deadline) throw timedOut();
        const st = await this.status(jobId).catch((e) => {
          if (isConnectionError(e)) return undefined; // Redis restarting: ask again until the deadline
          throw e;
        });
        if (!st) {
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        if (st.state === 'completed' && st.result) return st.result;
        if (st.state === 'failed') throw new Error(`job ${jobId} failed: ${st.error ?? 'unknown error'}`);
        if (st.state === 'unknown') throw new Error(`job ${jobId} does not exist`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops a job: removed if it has not started, otherwise the pipeline ends it at its next step. */
  async cancel(jobId: string): Promise<boolean> {
    await this.redis.set(keys.cancel(jobId), '1', 'EX', 3600);
    await this.redis.publish(keys.cancelChannel, jobId);
    const job = await Job.fromId(this.queue, jobId);
    if (!job) return false;
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      await job.remove();
      // No worker will run it now: its media references end here.
      await this.blobs.release(jobBlobs(job.data as GenerateJobData)).catch(() => undefined);
      await this.redis.xadd(keys.tokens(jobId), '*', 'k', 'e', 'f', 'cancelled');
      await this.redis.expire(keys.tokens(jobId), 24 * 3600);
      return true;
    }
    return state === 'active';
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
  }

  async close(): Promise<void> {
    for (const r of this.readers) r.disconnect();
    await this.queue.close().catch(() => undefined);
    await Promise.all([closeConnection(this.queueConnection), closeConnection(this.redis)]);
  }
}

/** Redis could not be reached or is restarting (as opposed to an error in the command itself). */
export function isConnectionError(e: unknown): boolean {
  const err = e as Error;
  return (
    err?.name === 'MaxRetriesPerRequestError' ||
    /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|Connection is closed|Stream isn't writeable|max retries per request|^LOADING|^READONLY|^MASTERDOWN/i.test(err?.message ?? '')
  );
}

/** QUIT when connected (pending replies arrive first); a connection that is down is dropped, never waited on. */
async function closeConnection(r: Redis): Promise<void> {
  if (r.status !== 'ready') return r.disconnect();
  await r.quit().catch(() => r.disconnect());
}
