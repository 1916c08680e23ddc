import type { RingLink } from '@ivl/pipeline';
import type { StageModelClient } from '@ivl/runtime';
import { MicroBatch, RingExecutor, Scheduler, SchedulerOptions, Sequence } from '@ivl/engine-core';
import { WorkerOptions, defaultPrefillChunk } from '../worker-options';

export interface EngineCore {
  executor: RingExecutor;
  scheduler: Scheduler;
}

export interface EngineCoreHooks {
  /** Trace context a batch carries round the ring (empty when it is not traced). */
  trace?: (b: MicroBatch) => Record<string, string>;
  onRelease?: (seq: Sequence) => void;
  onBatchDone?: (b: MicroBatch, ms: number) => void;
  onBatchFailed?: SchedulerOptions['onBatchFailed'];
  prefix?: SchedulerOptions['prefix'];
}

/**
 * Stage 0's engine core as the driver runs it: the ring executor over this stage's model thread (and the link to
 * stage 1, if any) and the step scheduler with the worker's batching options and per-device defaults. Shared by
 * the driver and the latency benchmark, so the benchmark measures exactly what a worker serves with.
 */
export function wireEngineCore(
  model: StageModelClient,
  link: RingLink | undefined,
  o: Pick<WorkerOptions, 'maxInFlight' | 'maxBatch' | 'prefillChunk' | 'device' | 'batchTimeoutMs'>,
  dims: { hidden: number; vocab: number; numStages: number },
  hooks: EngineCoreHooks = {},
): EngineCore {
  const executor = new RingExecutor(model, link, dims.hidden, o.batchTimeoutMs, hooks.trace);
  const scheduler = new Scheduler(executor, {
    maxInFlight: o.maxInFlight ?? Math.max(1, dims.numStages),
    maxBatch: o.maxBatch,
    prefillChunk: o.prefillChunk ?? defaultPrefillChunk(o.device),
    vocab: dims.vocab,
    prefix: hooks.prefix,
    onRelease: hooks.onRelease,
    onBatchFailed: hooks.onBatchFailed,
    onBatchDone: hooks.onBatchDone,
  });
  return { executor, scheduler };
}
