import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ActivationBatch, BatchAssembler, MalformedBatchError } from './activation-codec';
import { ActivationBatchMsg, DTypeName, ForwardEventMsg, HealthReplyMsg } from './messages';
import { CHANNEL_OPTIONS, stageServiceClient } from './protos';

export interface StageHandlers {
  hidden: number;
  dtype: DTypeName;
  /** Processes one complete batch; batches of one stream are handled strictly in arrival order. */
  onBatch(batch: ActivationBatch): Promise<void>;
  release(seqs: string[]): Promise<number>;
  health(): Promise<HealthReplyMsg>;
  log?: (msg: string) => void;
}

/** gRPC status name for an error thrown while handling a batch. */
function codeOf(e: Error): string {
  switch (e.name) {
    case 'MalformedBatchError':
    case 'RangeError':
      return 'INVALID_ARGUMENT';
    case 'UnknownSequenceError':
      return 'NOT_FOUND';
    case 'KvBudgetError':
      return 'RESOURCE_EXHAUSTED';
    default:
      return 'INTERNAL';
  }
}

/**
 * Serves the Stage service. A malformed message or a batch that fails is answered with an error event on its
 * stream (and handled by `onBatch`'s caller-visible error path), and the stream and the stage keep serving.
 */
export async function startStageServer(listen: string, h: StageHandlers): Promise<{ server: grpc.Server; port: number; health: HealthImplementation }> {
  const server = new grpc.Server(CHANNEL_OPTIONS);
  // The standard grpc.health.v1 service, for Kubernetes gRPC probes: '' is SERVING while the process serves; the
  // Stage service's own status (stage 0: whether its ring is whole) is under its full name.
  const health = new HealthImplementation({ '': 'SERVING', [STAGE_SERVICE]: 'NOT_SERVING' });
  health.addToServer(server);
  server.addService(stageServiceClient().service, {
    Forward: (call: grpc.ServerDuplexStream<ActivationBatchMsg, ForwardEventMsg>) => {
      const assembler = new BatchAssembler(h.hidden, h.dtype);
      // Headers right away: the sender treats the link as up only once the stage has answered.
      call.sendMetadata(new grpc.Metadata());
      (async () => {
        for await (const msg of call as AsyncIterable<ActivationBatchMsg>) {
          let batch: ActivationBatch | undefined;
          try {
            batch = assembler.push(msg);
            if (!batch) continue;
            await h.onBatch(batch);
            call.write({ ack: { batch_id: batch.batchId } });
          } catch (e) {
            const err = e as Error;
            h.log?.(`batch ${msg.batch_id}: ${err.message}`);
            call.write({ error: { batch_id: msg.batch_id, message: err.message, code: codeOf(err) } });
          }
        }
        call.end();
      })().catch((e) => {
        h.log?.(`forward stream closed: ${(e as Error).message}`);
        call.destroy?.();
      });
    },
    Release: (call: grpc.ServerUnaryCall<{ seqs: string[] }, { released: number }>, cb: grpc.sendUnaryData<{ released: number }>) => {
      h.release(call.request.seqs ?? []).then(
        (released) => cb(null, { released }),
        (e) => cb({ code: grpc.status.INTERNAL, details: (e as Error).message }),
      );
    },
    Health: (_call: grpc.ServerUnaryCall<unknown, HealthReplyMsg>, cb: grpc.sendUnaryData<HealthReplyMsg>) => {
      h.health().then(
        (r) => cb(null, r),
        (e) => cb({ code: grpc.status.UNAVAILABLE, details: (e as Error).message }),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port, health };
}

export const STAGE_SERVICE = 'ivl.stage.v1.Stage';

export { MalformedBatchError };
