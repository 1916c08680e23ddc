import { Worker } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import IORedis from 'ioredis';
import { requestLimitsFromEnv } from '@ivl/requests';
import { lazyGrammarEngine } from '@ivl/grammar';
import { MediaPool } from '@ivl/preprocess';
import { loadTokenizer } from '@ivl/prompt';
import { RemoteBatchError, RingLink, STAGE_SERVICE, StageClient, startStageServer } from '@ivl/pipeline';
import { TileEmbeddingCache } from '@ivl/runtime';
import { SpanKind, tracingEnabled, withSpan } from '@ivl/telemetry';
import { BlobStore, GENERATE_QUEUE, GenerateJobData, GenerateJobResult, jobBlobs, keys } from '@ivl/queue';
import { Admission, MicroBatch, PrefixCache, RingError, Scheduler, Sequence } from '@ivl/engine-core';
import { DelayedError, Queue } from 'bullmq';
import { listenAddress, RunningStage } from '../middle-stage';
import { StageSetup } from '../stage-setup';
import { StageStatus } from '../stage-status';
import { WorkerOptions } from '../worker-options';
import { WorkerTelemetry } from '../worker-telemetry';
import { wireEngineCore } from './engine-core-wiring';
import { HeldJobs } from './held-jobs';
import { processJob, sequenceIdOf } from './job-processor';
import { RingMonitor } from './ring-monitor';

/** A job failed by a broken ring waits this long before it may start again (the queue is paused until the ring is whole). */
const RING_RETRY_DELAY_MS = 250;
/**
 * Starts of one job before it is failed for good: a job that keeps breaking rings must not loop for ever. A start
 * also counts when admission hands a job back to the wait list for want of KV room, hence the margin.
 */
const MAX_STARTS = 100;

export interface DriverHandle extends RunningStage {
  monitor: RingMonitor;
  scheduler: Scheduler;
  worker: Worker<GenerateJobData, GenerateJobResult>;
}

/**
 * Stage 0: holds vision, embeddings, the first and last layers and the head, consumes the queue, and drives the
 * ring with continuous batching. Jobs are taken only while the ring is whole; when it breaks, in-flight
 * sequences fail at once and their jobs go back to the queue (without using an attempt) for a pipeline that is whole.
 */
export async function startDriver(o: WorkerOptions, s: StageSetup): Promise<DriverHandle> {
  if (!o.redis) throw new RangeError('stage 0 needs --redis (the queue it consumes)');
  const numStages = s.plan.stages.length;
  const status = new StageStatus(o, s);
  const tokenizer = await loadTokenizer(s.manifest.source.dir);
  const grammar = lazyGrammarEngine(tokenizer, s.manifest.config.llm.vocabSize, s.manifest.generation.eosTokenIds);
  const tel = new WorkerTelemetry(o);
  await tel.start();
  const link = numStages > 1 ? new RingLink(o.peers[1]) : undefined;
  let decodeBatches = 0;
  // Prefill chunks always carry their request's trace round the ring; decode steps only every Nth one, so a long
  // answer does not turn into thousands of stage spans.
  const batchTrace = (b: MicroBatch) => {
    if (!tracingEnabled()) return {};
    if (b.kind === 'decode' && decodeBatches++ % o.traceDecodeEvery !== 0) return {};
    return b.seqs[0]?.trace ?? {};
  };
  // Multi-turn image chats send the same image every turn: its tiles' vision pass runs once.
  if (o.visionCacheMb > 0) s.model.visionCache = new TileEmbeddingCache(o.visionCacheMb * 2 ** 20);
  // Finished sequences are released on every stage in small batches.
  const toRelease = new Set<string>();
  const admission = new Admission(s.info.kvCapacityTokens);
  // Finished sequences' KV stays on every stage for prompts and chat turns that start the same way.
  const prefix = o.prefixCache
    ? new PrefixCache({
        admission,
        release: (seqs) => {
          seqs.forEach((q) => toRelease.add(q));
          held.dropCached(seqs).catch(() => undefined);
        },
        onLookup: (queried, hit) => {
          tel.m.prefixCacheQueries.inc(queried);
          tel.m.prefixCacheHits.inc(hit);
        },
      })
    : undefined;
  const { executor, scheduler } = wireEngineCore(s.model, link, o, { hidden: s.info.hidden, vocab: s.info.vocab, numStages }, {
    trace: batchTrace,
    prefix,
    onRelease: (seq: Sequence) => {
      if (!prefix?.retain(seq)) toRelease.add(seq.id);
      // Noted in Redis so that a next life of this driver frees it on every stage (its index dies with it).
      else held.holdCached(seq.id).catch(() => undefined);
    },
    // A stage that refused a batch may have lost KV (a restart): no cached prefix is trusted any more.
    onBatchFailed: () => prefix?.clear(),
    onBatchDone: () => status.refresh(),
  });
  let sentBytes = 0;
  executor.onStageTime = (ms, b) => tel.m.stageForward.observe({ stage: '0', kind: b.kind }, ms / 1000);
  executor.onHop = (t, b) => {
    const computed = Object.entries(t.forwardMs).reduce((a, [k, v]) => a + (k === '0' ? 0 : v), 0);
    tel.m.hopLatency.observe({ kind: b.kind }, Math.max(0, t.ringMs - computed) / 1000);
    if (link) {
      tel.m.hopBytes.inc({ stage: '0' }, link.bytesSent - sentBytes);
      tel.m.hopMessageBytes.observe({ stage: '0' }, link.bytesSent - sentBytes);
      sentBytes = link.bytesSent;
    }
  };
  const peers = numStages > 1 ? o.peers.slice(1).map((p) => new StageClient(p)) : [];

  const releaseTimer = setInterval(() => {
    if (!toRelease.size) return;
    const seqs = [...toRelease];
    toRelease.clear();
    s.model.release(seqs).catch(() => undefined);
    for (const p of peers) p.release(seqs).catch((e) => o.log(`release on ${p.target} failed: ${(e as Error).message}`));
    status.refresh();
  }, 50);

  const monitor = new RingMonitor(o.peers, { modelId: s.modelId, plan: s.plan.name, numStages }, () => status.health());

  const { server, port, health } = await startStageServer(listenAddress(o), {
    hidden: s.info.hidden,
    dtype: s.info.actType === 'float32' ? 'FLOAT32' : 'FLOAT16',
    log: o.log,
    onBatch: async (b) => executor.onReturn(b),
    release: (seqs) => s.model.release(seqs),
    health: async () => status.health(),
  });

  const redis = new IORedis(o.redis, { maxRetriesPerRequest: null });
  // ioredis reconnects by itself; without listeners every failed reconnect is an "Unhandled error event".
  let redisDownSince = 0;
  const onRedisError = (e: Error) => {
    if (!redisDownSince) o.log(`redis: ${e.message} (reconnecting)`);
    redisDownSince ||= Date.now();
  };
  redis.on('error', onRedisError);
  redis.on('ready', () => {
    if (redisDownSince) o.log(`redis: back after ${Date.now() - redisDownSince} ms`);
    redisDownSince = 0;
  });
  const blobs = new BlobStore(redis);
  const lifeId = status.instanceId.slice(0, 8);
  const held = new HeldJobs(redis, o.pipelineId);
  const active = new Map<string, Sequence>();
  // Intake follows admission: when a job had to go back to the queue for want of KV room, stop taking jobs until
  // a sequence ends, so the rest wait in BullMQ (seen by the gateway's backlog, the metrics and KEDA, and taken by
  // any replica with room) rather than inside this worker.
  let heldBack = false;
  let ringWhole = false;
  const holdIntake = () => {
    if (heldBack) return;
    heldBack = true;
    worker.pause(true).catch(() => undefined);
  };
  admission.onRelease(() => {
    if (!heldBack) return;
    heldBack = false;
    if (ringWhole && !status.draining) worker.resume();
  });
  const limits = requestLimitsFromEnv();
  // Images and videos are decoded and tiled on these threads: on the event loop a large image stalls health
  // answers and the ring monitor for seconds.
  const media = new MediaPool({ threads: o.mediaThreads });
  const modelName = s.manifest.source.dir.split('/').filter(Boolean).pop() ?? 'model';
  const worker = new Worker<GenerateJobData, GenerateJobResult>(
    GENERATE_QUEUE,
    async (job, token) => {
      const seq = sequenceIdOf(job, { pipelineId: o.pipelineId, lifeId });
      if (token) await held.hold(job.id!, token, seq);
      try {
        return await withSpan(
        `chat ${modelName}`,
        () => ({
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'ivl-cluster',
          'gen_ai.request.model': modelName,
          'gen_ai.request.max_tokens': job.data.sampling.maxNewTokens,
          'gen_ai.request.temperature': job.data.sampling.temperature,
          'gen_ai.request.top_p': job.data.sampling.topP,
          'gen_ai.request.top_k': job.data.sampling.topK,
          'gen_ai.request.seed': job.data.sampling.seed,
          'gen_ai.response.id': String(job.id),
          'ivl.attempt': job.attemptsMade,
        }),
        async (span) => {
          const r = await processJob(
        {
          redis,
          blobs,
          tokenizer,
          config: s.manifest.config,
          eosTokenIds: s.manifest.generation.eosTokenIds,
          model: s.model,
          scheduler,
          admission,
          hidden: s.info.hidden,
          pipelineId: o.pipelineId,
          lifeId,
          limits,
          media,
          active,
          log: o.log,
          grammar,
          prefix,
          onNoRoom: holdIntake,
        },
        job,
        token,
      );
          span?.setAttributes({ 'gen_ai.usage.input_tokens': r.promptTokens, 'gen_ai.usage.output_tokens': r.completionTokens, 'gen_ai.response.finish_reasons': [r.finishReason] });
          return r;
        },
        { kind: SpanKind.SERVER },
      );
      } catch (e) {
        // The ring broke under this job (a stage died, the worker is shutting down): not the job's fault, so it goes
        // back to the queue without using one of its attempts, and runs again once a pipeline is whole.
        // maxStartedAttempts below still bounds a job that breaks every ring it runs on.
        if ((e as Error).name === 'RingError' && token) {
          await job.moveToDelayed(Date.now() + RING_RETRY_DELAY_MS, token);
          throw new DelayedError();
        }
        throw e;
      } finally {
        await held.drop(job.id!).catch(() => undefined);
      }
    },
    {
      telemetry: tracingEnabled() ? new BullMQOtel({ tracerName: 'ivl-cluster' }) : undefined,
      connection: redis.duplicate({ maxRetriesPerRequest: null }),
      prefix: o.queuePrefix,
      concurrency: o.maxSequences,
      autorun: false,
      // The event loop never blocks on a forward pass (onnxruntime runs on its own thread), so locks renew on time.
      lockDuration: 60_000,
      maxStalledCount: 2,
      maxStartedAttempts: MAX_STARTS,
    },
  );
  worker.on('error', (e) => o.log(`queue: ${e.message}`));
  // A job's media are deleted when it ends for good (a retry still needs them).
  const releaseMedia = (job: { data: GenerateJobData } | undefined) => {
    if (job) blobs.release(jobBlobs(job.data)).catch((e) => o.log(`media release failed: ${(e as Error).message}`));
  };
  worker.on('completed', (job) => releaseMedia(job));
  worker.on('failed', (job, err) => {
    if (job && (err?.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1))) releaseMedia(job);
  });


  // Cancellation reaches whichever pipeline holds the job.
  const sub = redis.duplicate();
  sub.on('error', () => undefined);
  await sub.subscribe(keys.cancelChannel);
  sub.on('message', (_ch, jobId: string) => {
    const seq = active.get(jobId);
    if (seq) scheduler.cancel(seq);
  });

  let running = false;
  const breakRing = (reason: string) => {
    const e = new RingError(`the pipeline ring broke: ${reason}`);
    tel.m.retries.inc(scheduler.running);
    scheduler.failAll(e);
    executor.failAll(e);
    prefix?.clear();
    worker.pause(true).catch(() => undefined);
  };
  monitor.on('broken', (reason: string) => {
    ringWhole = false;
    health.setStatus(STAGE_SERVICE, 'NOT_SERVING');
    o.log(`ring broken: ${reason}; failing in-flight sequences and pausing the queue`);
    breakRing(reason);
  });
  // A health miss put down to this stage's own busy loop is logged (at most every 5 s), not acted on.
  let doubtLoggedAt = 0;
  monitor.on('doubt', (why: string) => {
    if (Date.now() - doubtLoggedAt < 5000) return;
    doubtLoggedAt = Date.now();
    o.log(`ring monitor: ${why}`);
  });
  monitor.on('whole', () => {
    ringWhole = true;
    health.setStatus(STAGE_SERVICE, 'SERVING');
    admission.setCapacity(monitor.view.capacityTokens);
    // A stage may have restarted while the ring was down: what it cached is gone.
    prefix?.clear();
    o.log(`ring whole (${numStages} stage${numStages > 1 ? 's' : ''}); taking jobs`);
    if (!running) {
      running = true;
      // Jobs a previous life of this pipeline was running go straight back to the queue (not after the lock expires).
      const queue = new Queue(GENERATE_QUEUE, { connection: redis, prefix: o.queuePrefix });
      held
        .reclaim(queue, async (seqs) => {
          await Promise.all([s.model.release(seqs).catch(() => 0), ...peers.map((p) => p.release(seqs).catch(() => 0))]);
        })
        .then(
          (moved) => moved.length && o.log(`took back ${moved.length} job(s) held by this pipeline's previous run`),
          (e) => o.log(`could not take back earlier jobs: ${(e as Error).message}`),
        )
        .finally(() => {
          void queue.close().catch(() => undefined);
          worker.run().catch((e) => o.log(`queue worker stopped: ${(e as Error).message}`));
        });
    } else if (!heldBack) worker.resume();
  });
  if (link) status.downstream = () => link.connected;
  if (prefix) status.cachedPrefixes = () => prefix.cachedCount;
  link?.on('down', (why: string) => monitor.breakNow(`lost stage 1 (${why})`));
  // Stage 1 refused a batch: fail exactly its sequences now (their jobs are retried), not after the batch timeout.
  link?.on('remoteError', (err: RemoteBatchError) => {
    if (!executor.failBatch(err.batchId, new RingError(`stage 1 refused batch ${err.batchId}: ${err.message} (${err.code})`))) {
      o.log(`stage 1 refused batch ${err.batchId || '(no id)'} that is no longer waited for: ${err.message}`);
    }
  });
  monitor.start();

  // Gateways read which pipelines are ready from here.
  const announce = () =>
    redis
      .hset(keys.pipelines, o.pipelineId, JSON.stringify({ id: o.pipelineId, stages: numStages, ready: monitor.view.whole && !status.draining && !status.fatal, updatedAt: Date.now(), model: s.modelId, plan: s.plan.name, queuePrefix: o.queuePrefix ?? null }))
      .catch(() => undefined);
  const announceTimer = setInterval(announce, 1000);
  announce();

  // Restarts: stage 0 counts its own starts in Redis, and sees the others' in their Health instance ids.
  const starts = await redis.incr(`ivl:starts:${o.pipelineId}:0`).catch(() => 1);
  tel.m.workerRestarts.inc({ stage: '0' }, Math.max(0, starts - 1));
  for (let k = 1; k < numStages; k++) tel.m.workerRestarts.inc({ stage: String(k) }, 0);
  const seen = new Map<number, string>();
  const gauges = setInterval(() => {
    tel.observeStatus(status);
    tel.m.microBatchesInFlight.set(scheduler.batchesInFlight);
    tel.m.sequencesRunning.set(scheduler.running);
    tel.m.admissionWaiting.set(admission.queued);
    tel.m.ringWhole.set(monitor.view.whole ? 1 : 0);
    // Cached prefixes go well before the stages' own idle eviction (kvIdleMs) could drop them under the index.
    prefix?.expireIdle(o.kvIdleMs / 2);
    monitor.view.stages.forEach((h, k) => {
      if (k === 0 || 'error' in h || !h.instance_id) return;
      const was = seen.get(k);
      if (was && was !== h.instance_id) tel.m.workerRestarts.inc({ stage: String(k) });
      seen.set(k, h.instance_id);
    });
  }, 500);

  return {
    port,
    status,
    model: s.model,
    monitor,
    scheduler,
    worker,
    async markNotServing(reason) {
      status.fatal = reason;
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(STAGE_SERVICE, 'NOT_SERVING');
      // Take no more jobs, and tell the gateways at once rather than when the announcement goes stale.
      await worker.pause(true).catch(() => undefined);
      await announce();
    },
    async stop() {
      status.draining = true;
      await announce();
      // Drain: take no new jobs, let running answers finish, then hand what is left back to the queue.
      const closing = worker.close();
      const timedOut = await Promise.race([closing.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), o.drainMs))]);
      if (timedOut) {
        o.log(`drain timed out after ${o.drainMs} ms; handing ${scheduler.running} sequence(s) back to the queue`);
        breakRing('the worker is shutting down');
        await closing.catch(() => undefined);
      }
      clearInterval(announceTimer);
      clearInterval(releaseTimer);
      clearInterval(gauges);
      await tel.stop();
      await redis.hdel(keys.pipelines, o.pipelineId).catch(() => undefined);
      monitor.stop();
      link?.close();
      peers.forEach((p) => p.close());
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      await sub.quit().catch(() => undefined);
      await redis.quit().catch(() => undefined);
      await media.close();
      await s.model.close();
    },
  };
}
