import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import type { Redis } from 'ioredis';
import type { JobView, Principal, ServingBackend } from '@ivl/client-grpc';
import {
  type AddressPolicy,
  type ChatInput,
  type ModelObject,
  type PrepareContext,
  type PreparedChat,
  type ServedModel,
  notFound,
  prepareChat,
  tooManyRequests,
  unavailable,
} from '@ivl/openai-api';
import { type GrammarEngine, lazyGrammarEngine } from '@ivl/grammar';
import { ENDOFTEXT_ID, IM_END_ID, IM_START_ID, type PromptEncoder } from '@ivl/prompt';
import type { GenerateClient, TokenEvent } from '@ivl/queue';
import type { GatewayLimits } from '../config';
import { ApiKeys } from './api-keys';
import { JobRegistry } from './job-registry';
import { RateLimiter, type RateState } from './rate-limiter';
import { PipelineReadiness } from './readiness';
import { GatewayTelemetry } from './gateway-telemetry';

/**
 * The gateway's serving logic shared by REST and gRPC: auth, per-key rate limit, validation and counting,
 * admission (draining, readiness, queue depth), enqueueing, job ownership, and in-flight tracking for shutdown.
 */
export class GatewayServices implements ServingBackend {
  readonly keys: ApiKeys;
  readonly limiter: RateLimiter;
  readonly readiness: PipelineReadiness;
  readonly jobs: JobRegistry;
  draining = false;
  /** Fired when the shutdown grace period is over: relays still running end their responses and cancel their jobs. */
  readonly shutdown = new AbortController();
  /** Relays to stop at shutdown: one set rather than a listener per stream on the shared signal. */
  private readonly onShutdownHooks = new Set<() => void>();
  /** Relays attached to each job here (a resumed stream attaches again before the disconnected one gives up). */
  private readonly attached = new Map<string, number>();
  private inflight = 0;
  private idle: Array<() => void> = [];

  constructor(
    readonly redis: Redis,
    readonly client: GenerateClient,
    readonly model: ServedModel,
    readonly limits: GatewayLimits,
    readonly ns: string,
    opts: { apiKeys: string[]; pipelinesKey: string; queuePrefix?: string; addressPolicy?: AddressPolicy; encoder?: PromptEncoder },
    readonly telemetry: GatewayTelemetry = new GatewayTelemetry(model.names[0]),
  ) {
    this.keys = new ApiKeys(opts.apiKeys);
    this.limiter = new RateLimiter(redis, ns, limits.rateLimitPerMinute);
    this.readiness = new PipelineReadiness(redis, opts.pipelinesKey, opts.queuePrefix);
    this.jobs = new JobRegistry(redis, ns);
    this.grammar = lazyGrammarEngine(model.tokenizer, model.config.llm.vocabSize, [ENDOFTEXT_ID, IM_START_ID, IM_END_ID]);
    this.prepareContext = { model, limits, addressPolicy: opts.addressPolicy, grammar: this.grammar, encoder: opts.encoder };
  }

  /** What validating and counting a request needs; its encoder is the gateway's tokenizer pool. */
  readonly prepareContext: PrepareContext;

  authenticate(authorization: string | undefined): Principal {
    return this.keys.authenticate(authorization);
  }

  admit(who: Principal): Promise<RateState | undefined> {
    return this.limiter.hit(who);
  }

  prepare(input: ChatInput): Promise<PreparedChat> {
    return prepareChat(input, this.prepareContext);
  }

  /** Compiles response formats and tool grammars at the gateway, so that a bad one is a 400 before anything is queued. */
  readonly grammar: () => Promise<GrammarEngine>;

  /**
   * One job per choice (OpenAI's n): sibling sequences with seeds seed, seed + 1, …, so seeded choices differ and
   * repeat. They carry one choice group, so a pipeline that runs them together prefills the prompt once.
   */
  async enqueueChoices(prepared: PreparedChat, who: Principal): Promise<string[]> {
    if (prepared.n === 1) return [await this.enqueue(prepared, who)];
    await this.checkAdmission();
    const seed = prepared.submit.sampling?.seed;
    const group = randomUUID().replace(/-/g, '');
    return Promise.all(
      Array.from({ length: prepared.n }, (_, i) => {
        const submit = { ...prepared.submit, sampling: { ...prepared.submit.sampling, seed: seed === undefined ? undefined : (seed + i) % 2 ** 32 } };
        return this.enqueue({ ...prepared, submit }, who, false, group);
      }),
    );
  }

  /** Refuses what the cluster cannot take now (503 draining / no pipeline, 429 queue full), then queues. */
  async enqueue(prepared: PreparedChat, who: Principal, admit = true, choiceGroup?: string): Promise<string> {
    if (admit) await this.checkAdmission();
    const jobId = randomUUID().replace(/-/g, '');
    // Independent writes: together, one round trip of latency instead of two.
    return this.telemetry.begin(prepared, async () => {
      await Promise.all([this.jobs.register(jobId, who, prepared.promptTokens), this.client.submit(prepared.submit, { jobId, choiceGroup })]);
      return jobId;
    });
  }

  async checkAdmission(): Promise<void> {
    if (this.draining) throw unavailable('shutting_down', 'this gateway is shutting down; retry on another replica', 1);
    if (this.limits.requireReadyPipeline && !(await this.readiness.admits(this.limits.pipelineGraceMs))) {
      throw unavailable('no_pipeline_ready', 'no inference pipeline is ready to serve requests; retry shortly', 5);
    }
    if (this.limits.maxQueued > 0) {
      // Interactive jobs carry no priority and sit in the wait list; batch jobs (prioritized) do not count here.
      const { waiting = 0 } = await this.client.queue.getJobCounts('waiting');
      if (waiting >= this.limits.maxQueued) {
        throw tooManyRequests('queue_full', `the request queue is full (${waiting} requests waiting, limit ${this.limits.maxQueued}); retry later`, this.limits.queueRetryAfterSeconds);
      }
    }
  }

  stream(jobId: string, signal: AbortSignal, fromId = '0'): AsyncIterable<TokenEvent> {
    return this.telemetry.observe(jobId, this.client.stream(jobId, fromId, signal), () => this.storedResult(jobId));
  }

  /** The job's stored result; the end of the token stream is written just before it, so it may trail briefly. */
  private async storedResult(jobId: string, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.client.status(jobId);
      if (st.result || st.state === 'failed' || st.state === 'unknown' || Date.now() > deadline) return st.result;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async getJob(jobId: string, who: Principal): Promise<JobView> {
    const rec = await this.jobs.get(jobId, who);
    if (!rec) throw notFound('job_not_found', `No such job: ${jobId}`, 'job_id');
    const st = await this.client.status(jobId);
    const r = st.result;
    switch (st.state) {
      case 'completed':
        return {
          jobId,
          state: r?.finishReason === 'cancelled' ? 'cancelled' : r?.finishReason === 'error' ? 'failed' : 'completed',
          text: r?.text,
          finishReason: r?.finishReason,
          promptTokens: r?.promptTokens,
          completionTokens: r?.completionTokens,
          cachedTokens: r?.cachedTokens,
        };
      case 'failed':
        return { jobId, state: 'failed', error: st.error };
      case 'active':
        return { jobId, state: 'running' };
      case 'unknown':
        if (rec.cancelled) return { jobId, state: 'cancelled', finishReason: 'cancelled' };
        return { jobId, state: 'failed', error: 'the job is no longer in the queue' };
      default:
        return { jobId, state: 'queued' };
    }
  }

  async cancel(jobId: string, who: Principal): Promise<boolean> {
    const rec = await this.jobs.get(jobId, who);
    if (!rec) throw notFound('job_not_found', `No such job: ${jobId}`, 'job_id');
    await this.jobs.markCancelled(jobId);
    return this.client.cancel(jobId);
  }

  models(): ModelObject[] {
    return this.model.names.map((id) => ({
      id,
      object: 'model',
      created: this.model.created,
      owned_by: 'ivl-cluster',
      root: basename(this.model.dir),
      max_model_len: this.model.contextLength,
    }));
  }

  /** Runs `f` when the shutdown grace ends (at once if it has); returns the function that unregisters it. */
  onShutdown(f: () => void): () => void {
    if (this.shutdown.signal.aborted) {
      f();
      return () => undefined;
    }
    this.onShutdownHooks.add(f);
    return () => this.onShutdownHooks.delete(f);
  }

  /** Ends the grace period: every relay still running ends its response and cancels its job. */
  endGrace(): void {
    this.shutdown.abort();
    for (const f of [...this.onShutdownHooks]) f();
    this.onShutdownHooks.clear();
  }

  /** Counts a relay on a job; returns its detach. */
  attach(jobId: string): () => void {
    this.attached.set(jobId, (this.attached.get(jobId) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.attached.get(jobId) ?? 1) - 1;
      if (n > 0) this.attached.set(jobId, n);
      else this.attached.delete(jobId);
    };
  }

  isAttached(jobId: string): boolean {
    return (this.attached.get(jobId) ?? 0) > 0;
  }

  track(): () => void {
    this.inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.inflight === 0) for (const f of this.idle.splice(0)) f();
    };
  }

  get inflightCount(): number {
    return this.inflight;
  }

  /** Resolves when no request is in flight, or after timeoutMs. */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idle.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }
}
