import type { Server } from 'node:http';
import { WorkerMetricKey, createMetrics, initTracing, startMetricsServer } from '@ivl/telemetry';
import type { StageStatus } from './stage-status';
import { type WorkerOptions, listenHost } from './worker-options';

/**
 * This worker's Prometheus metrics (its stage's forward time, KV use, hop traffic; stage 0 also the ring and the
 * batch) served on --metrics-port, and OTLP tracing when an endpoint is configured.
 */
export class WorkerTelemetry {
  readonly metrics = createMetrics<WorkerMetricKey>('worker', { pipeline: '' });
  private server?: Server;
  readonly stage: string;

  constructor(private readonly o: WorkerOptions) {
    this.stage = String(o.stage);
    this.metrics.registry.setDefaultLabels({ pipeline: o.pipelineId });
    initTracing(`ivl-worker`, { 'ivl.stage': o.stage, 'ivl.pipeline': o.pipelineId });
  }

  get m() {
    return this.metrics.m;
  }

  /** Creates this stage's labelled series at zero, so the first micro-batches show up as an increase. */
  private zeroSeries(): void {
    for (const kind of ['prefill', 'decode']) this.m.stageForward.zero({ stage: this.stage, kind });
    this.m.hopBytes.inc({ stage: this.stage }, 0);
    this.m.hopMessageBytes.zero({ stage: this.stage });
    if (this.o.stage === 0) for (const kind of ['prefill', 'decode']) this.m.hopLatency.zero({ kind });
    if (this.o.stage === 0) for (const c of [this.m.prefixCacheQueries, this.m.prefixCacheHits]) c.inc(0);
  }

  async start(): Promise<void> {
    this.zeroSeries();
    if (this.o.metricsPort === undefined || this.o.metricsPort < 0) return;
    this.server = await startMetricsServer(this.metrics.registry, this.o.metricsPort, listenHost(this.o));
  }

  /** Refreshes the gauges that mirror the stage's state (called after batches and on a timer). */
  observeStatus(status: StageStatus): void {
    const { kvUsedTokens, kvCapacityTokens } = status.stats;
    this.m.kvTokens.set({ stage: this.stage, state: 'used' }, kvUsedTokens);
    this.m.kvTokens.set({ stage: this.stage, state: 'capacity' }, kvCapacityTokens);
    this.m.kvUsage.set({ stage: this.stage }, kvCapacityTokens ? kvUsedTokens / kvCapacityTokens : 0);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
