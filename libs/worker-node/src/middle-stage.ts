import { ActivationBatch, RingLink, startStageServer } from '@ivl/pipeline';
import { StageSetup } from './stage-setup';
import { StageStatus } from './stage-status';
import { WorkerOptions } from './worker-options';

export interface RunningStage {
  port: number;
  status: StageStatus;
  stop(): Promise<void>;
}

export function listenAddress(o: WorkerOptions): string {
  return o.listen ?? `0.0.0.0:${o.peers[o.stage].split(':').pop()}`;
}

/**
 * A stage after stage 0: receives hidden states from the previous stage, runs its layers and passes the result
 * on. A batch it cannot process travels on as an error batch so that stage 0 fails exactly those sequences.
 */
export async function startMiddleStage(o: WorkerOptions, s: StageSetup): Promise<RunningStage> {
  const status = new StageStatus(o, s);
  const next = o.peers[(o.stage + 1) % o.peers.length];
  const link = new RingLink(next);
  status.downstream = () => link.connected;
  link.on('up', () => o.log(`connected to the next stage at ${next}`));
  link.on('down', (why: string) => o.log(`lost the next stage at ${next}: ${why}`));
  const forward = async (b: ActivationBatch) => {
    try {
      await link.send(b);
    } catch (e) {
      o.log(`batch ${b.batchId} not forwarded: ${(e as Error).message}`);
    }
  };
  const { server, port } = await startStageServer(listenAddress(o), {
    hidden: s.info.hidden,
    dtype: s.info.actType === 'float32' ? 'FLOAT32' : 'FLOAT16',
    log: o.log,
    onBatch: async (b) => {
      if (b.error || !b.data) return forward(b);
      const t0 = performance.now();
      try {
        const out = await s.engine.layers(b.data, b.spans);
        await forward({ ...b, data: out, forwardMs: { ...b.forwardMs, [o.stage]: performance.now() - t0 } });
      } catch (e) {
        await forward({ ...b, data: undefined, error: `stage ${o.stage}: ${(e as Error).message}` });
        throw e;
      } finally {
        status.refresh();
      }
    },
    release: (seqs) => s.engine.release(seqs),
    health: async () => status.health(),
  });
  const evict = setInterval(() => s.engine.evictIdle(o.kvIdleMs).then((gone) => gone.length && o.log(`freed KV of ${gone.length} idle sequence(s)`), () => undefined), Math.min(o.kvIdleMs, 60_000));
  return {
    port,
    status,
    async stop() {
      clearInterval(evict);
      link.close();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      await s.engine.close();
    },
  };
}
