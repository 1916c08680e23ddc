import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join, dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@ivl/local-cluster';
import { StageClient } from '@ivl/pipeline';
import { tinyCheckpoint } from '@ivl/test-support';
import { RunningStage, WORKER_DEFAULTS, startWorker } from '@ivl/worker-node';

/** grpc.health.v1 Check, as a Kubernetes gRPC probe asks it. */
function healthCheck(port: number, service = ''): Promise<string> {
  const file = join(dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');
  const def = protoLoader.loadSync(file, { keepCase: true, enums: String });
  const Ctor = (grpc.loadPackageDefinition(def) as any).grpc.health.v1.Health as grpc.ServiceClientConstructor;
  const c = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
  return new Promise((resolve, reject) =>
    c.Check({ service }, (err: Error | null, r: { status: string }) => {
      c.close();
      if (err) reject(err);
      else resolve(r.status);
    }),
  );
}

/**
 * A stage whose onnxruntime thread dies can compute nothing: it must stop reporting SERVING to the ring (its Stage
 * Health) at once, and to probes (grpc.health.v1) before the worker exits for a restart.
 */
describe('a stage whose onnxruntime thread died', () => {
  let w: RunningStage | undefined;
  afterAll(async () => {
    await w?.stop().catch(() => undefined);
  });

  it('reports NOT_SERVING to the ring and to probes', async () => {
    const ports = [await freePort(), await freePort()];
    const logs: string[] = [];
    w = await startWorker({
      ...WORKER_DEFAULTS,
      model: tinyCheckpoint('tiny'),
      stage: 1,
      peers: ports.map((p) => `127.0.0.1:${p}`),
      plan: 'card:2',
      threads: 1,
      kvBudgetMb: 64,
      metricsPort: -1,
      pipelineId: 'ort-death',
      log: (m: string) => logs.push(m),
    } as any);
    const stage = new StageClient(`127.0.0.1:${w.port}`);
    try {
      expect((await stage.health()).status).toBe('SERVING');
      expect(await healthCheck(w.port)).toBe('SERVING');
      const died = new Promise<Error>((r) => w!.model.onDeath(r));
      // The thread really ends (as a native crash or an abort in onnxruntime would end it).
      await (w.model as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      expect((await died).message).toMatch(/onnxruntime thread exited/);
      expect((await stage.health()).status).toBe('NOT_SERVING');
      // What the worker does before it exits (worker-command wires it to the thread's death).
      await w.markNotServing('the onnxruntime thread died');
      expect(await healthCheck(w.port)).toBe('NOT_SERVING');
      expect(await healthCheck(w.port, 'ivl.stage.v1.Stage')).toBe('NOT_SERVING');
    } finally {
      stage.close();
    }
  });
});
