import { randomInt, randomUUID } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { tracingEnabled } from '@ivl/telemetry';
import IORedis, { Redis } from 'ioredis';
import { BlobStore } from './blob-store';
import { GENERATE_JOB, GENERATE_QUEUE, GenerateInput, GenerateJobData, GenerateJobResult, JobGrammar, JobSampling } from './job-schema';
import { keys } from './keys';
import { TokenEvent, parseEntry } from './token-stream';

export interface SubmitOptions {
  jobId?: string;
  priority?: number;
  /** Attempts before the job is failed for good (a dead stage makes an attempt fail; it is retried with backoff). */
  attempts?: number;
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

  constructor(readonly redisUrl: string, opts: { prefix?: string } = {}) {
    this.redis = new IORedis(redisUrl, { maxRetriesPerRequest: 3, enableOfflineQueue: true, lazyConnect: false });
    // With tracing on, each job carries its producer's trace context to the pipeline that runs it.
    this.queue = new Queue(GENERATE_QUEUE, {
      connection: this.redis.duplicate(),
      prefix: opts.prefix,
      telemetry: tracingEnabled() ? new BullMQOtel({ tracerName: 'ivl-cluster' }) : undefined,
    });
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
    };
    const jobId = opts.jobId ?? randomUUID();
    await this.queue.add(GENERATE_JOB, data, {
      jobId,
      priority: opts.priority,
      attempts: opts.attempts ?? 5,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: { age: 24 * 3600, count: 10000 },
      removeOnFail: { age: 24 * 3600 },
    });
    return jobId;
  }

  /** Token events from `fromId` until the end of generation; ends with an 'end' event even if the job failed. */
  async *stream(jobId: string, fromId = '0', signal?: AbortSignal): AsyncGenerator<TokenEvent> {
    // XREAD BLOCK holds its connection, so each reader gets its own.
    const reader = this.redis.duplicate();
    this.readers.add(reader);
    try {
      let last = fromId;
      while (!signal?.aborted) {
        const res = (await reader.xread('COUNT', 256, 'BLOCK', 1000, 'STREAMS', keys.tokens(jobId), last)) as Array<[string, Array<[string, string[]]>]> | null;
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
        const st = await this.status(jobId);
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
      this.readers.delete(reader);
      reader.disconnect();
    }
  }

  async status(jobId: string): Promise<JobStatus> {
    const job = await Job.fromId<GenerateJobData, GenerateJobResult>(this.queue, jobId);
    if (!job) return { id: jobId, state: 'unknown', attemptsMade: 0 };
    const state = (await job.getState()) as JobState;
    return { id: jobId, state, result: job.returnvalue ?? undefined, error: job.failedReason || undefined, attemptsMade: job.attemptsMade };
  }

  /** Waits for the final result (text, token counts, finish reason). */
  async result(jobId: string, timeoutMs = 600_000): Promise<GenerateJobResult> {
    const deadline = Date.now() + timeoutMs;
    for await (const e of this.stream(jobId)) {
      if (e.kind === 'end') break;
      if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish within ${timeoutMs} ms`);
    }
    for (;;) {
      const st = await this.status(jobId);
      if (st.state === 'completed' && st.result) return st.result;
      if (st.state === 'failed') throw new Error(`job ${jobId} failed: ${st.error ?? 'unknown error'}`);
      if (st.state === 'unknown') throw new Error(`job ${jobId} does not exist`);
      if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
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
    await this.queue.close();
    await this.redis.quit().catch(() => undefined);
  }
}
