import { ActivationBatch, RemoteBatchError, RingLink, STAGE_SERVICE, startStageServer } from '@ivl/pipeline';
import { extractContext, tracingEnabled, withSpan } from '@ivl/telemetry';
import type { StageModelClient } from '@ivl/runtime';
import { StageSetup } from './stage-setup';
import { StageStatus } from './stage-status';
import { WorkerOptions } from './worker-options';
import { WorkerTelemetry } from './worker-telemetry';

export interface RunningStage {
  port: number;
  status: StageStatus;
  model: StageModelClient;
  /** This stage cannot continue: health (grpc.health.v1 and the Stage service) answers NOT_SERVING from now on. */
  markNotServing(reason: string): Promise<void>;
  stop(): Promise<void>;
}

import { listenAddress } from './worker-options';
export { listenAddress, listenHost } from './worker-options';

/**
 * A stage after stage 0: receives hidden states from the previous stage, runs its layers and passes the result
 * on. A batch it cannot process travels on as an error batch so that stage 0 fails exactly those sequences.
 */
export async function startMiddleStage(o: WorkerOptions, s: StageSetup): Promise<RunningStage> {
  const status = new StageStatus(o, s);
  const tel = new WorkerTelemetry(o);
  await tel.start();
  const stageLabel = { stage: String(o.stage) };
  const next = o.peers[(o.stage + 1) % o.peers.length];
  const link = new RingLink(next);
  status.downstream = () => link.connected;
  link.on('up', () => o.log(`connected to the next stage at ${next}`));
  link.on('down', (why: string) => o.log(`lost the next stage at ${next}: ${why}`));
  // The next stage refused a batch we passed on: send an error batch in its place (the next stage relays error
  // batches unchanged), so stage 0 fails those sequences at once instead of waiting for the batch timeout.
  link.on('remoteError', (err: RemoteBatchError) => {
    o.log(`the next stage refused batch ${err.batchId}: ${err.message}`);
    if (err.spans?.length && o.stage + 1 < o.peers.length) {
      void forward({ batchId: err.batchId, spans: err.spans, hidden: s.info.hidden, trace: {}, error: `stage ${o.stage + 1}: ${err.message}`, forwardMs: {}, sentAtMs: Date.now(), wireBytes: 0 });
    }
  });
  const forward = async (b: ActivationBatch) => {
    try {
      const before = link.bytesSent;
      await link.send(b);
      tel.m.hopBytes.inc(stageLabel, link.bytesSent - before);
      tel.m.hopMessageBytes.observe(stageLabel, link.bytesSent - before);
    } catch (e) {
      o.log(`batch ${b.batchId} not forwarded: ${(e as Error).message}`);
    }
  };
  const { server, port, health } = await startStageServer(listenAddress(o), {
    hidden: s.info.hidden,
    dtype: s.info.actType === 'float32' ? 'FLOAT32' : 'FLOAT16',
    log: o.log,
    onBatch: async (b) => {
      if (b.error || !b.data) return forward(b);
      const data = b.data;
      const kind = b.spans.every((sp) => sp.length === 1) ? 'decode' : 'prefill';
      const t0 = performance.now();
      try {
        const out = await withSpan(
          `stage ${o.stage} forward`,
          () => ({ 'ivl.stage': o.stage, 'ivl.batch.kind': kind, 'ivl.batch.rows': data.length / s.info.hidden, 'ivl.batch.sequences': b.spans.length }),
          () => s.model.layers(data, b.spans),
          { parent: tracingEnabled() && Object.keys(b.trace).length ? extractContext(b.trace) : undefined },
        );
        const ms = performance.now() - t0;
        tel.m.stageForward.observe({ ...stageLabel, kind }, ms / 1000);
        await forward({ ...b, data: out, forwardMs: { ...b.forwardMs, [o.stage]: ms } });
      } catch (e) {
        await forward({ ...b, data: undefined, error: `stage ${o.stage}: ${(e as Error).message}` });
        throw e;
      } finally {
        status.refresh();
      }
    },
    release: async (seqs) => {
      const n = await s.model.release(seqs);
      status.refresh();
      return n;
    },
    health: async () => status.health(),
  });
  health.setStatus(STAGE_SERVICE, 'SERVING');
  const gauges = setInterval(() => tel.observeStatus(status), 1000);
  const evict = setInterval(() => s.model.evictIdle(o.kvIdleMs).then((gone) => gone.length && o.log(`freed KV of ${gone.length} idle sequence(s)`), () => undefined), Math.min(o.kvIdleMs, 60_000));
  return {
    port,
    status,
    model: s.model,
    async markNotServing(reason) {
      status.fatal = reason;
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(STAGE_SERVICE, 'NOT_SERVING');
    },
    async stop() {
      clearInterval(evict);
      clearInterval(gauges);
      await tel.stop();
      link.close();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      await s.model.close();
    },
  };
}
