import { randomUUID } from 'node:crypto';
import type { HealthReplyMsg } from '@ivl/pipeline';
import type { StageStats } from '@ivl/runtime';
import type { StageSetup } from './stage-setup';
import type { WorkerOptions } from './worker-options';

/**
 * What Health reports. KV numbers are cached from the onnxruntime thread after each batch: asking it during a
 * Health call would queue behind a forward pass and make a busy stage look dead.
 */
export class StageStatus {
  stats: StageStats;
  draining = false;
  /** Set when this stage cannot continue (it is about to exit): reported as NOT_SERVING. */
  fatal?: string;
  readonly instanceId = randomUUID();
  /** Whether this stage's stream to the next stage is up (read live from its link). */
  downstream: () => boolean = () => false;
  /** Stage 0: how many finished sequences the prefix cache keeps. */
  cachedPrefixes: () => number = () => 0;

  constructor(private readonly o: WorkerOptions, private readonly s: StageSetup) {
    this.stats = { kvUsedTokens: 0, kvCapacityTokens: s.info.kvCapacityTokens, sequences: 0, forwardMs: 0 };
  }

  refresh(): void {
    this.s.model.stats().then(
      (st) => (this.stats = st),
      () => undefined,
    );
  }

  health(): HealthReplyMsg {
    const sp = this.s.plan.stages[this.o.stage];
    return {
      // A stage whose onnxruntime thread has died cannot compute: never SERVING, so the ring breaks and probes fail.
      status: this.s.model.deadReason || this.fatal ? 'NOT_SERVING' : this.draining ? 'DRAINING' : 'SERVING',
      stage: this.o.stage,
      num_stages: this.s.plan.stages.length,
      plan: this.s.plan.name,
      dtype: this.s.manifest.dtype,
      layers: sp.ranges.flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i)),
      kv_capacity_tokens: this.stats.kvCapacityTokens,
      kv_used_tokens: this.stats.kvUsedTokens,
      sequences: this.stats.sequences,
      provider: this.s.info.provider,
      downstream_connected: this.s.plan.stages.length === 1 || this.downstream(),
      model_id: this.s.modelId,
      pipeline: this.o.pipelineId,
      instance_id: this.instanceId,
      cached_prefixes: this.cachedPrefixes(),
    };
  }
}
