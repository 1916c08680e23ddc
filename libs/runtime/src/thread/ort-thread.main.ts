import { parentPort, workerData } from 'node:worker_threads';
import { StageModel, StageModelConfig } from './stage-model';
import { CallMessage, ReplyMessage, transferables } from './protocol';

// The onnxruntime thread: runs sessions off the main event loop so gRPC, Redis and BullMQ lock renewals never wait
// behind a forward pass (onnxruntime-node's run() blocks its calling thread).
const model = new StageModel(workerData as StageModelConfig);
const port = parentPort!;

// Calls run strictly one after another, in arrival order: a stage is a FIFO over micro-batches.
let chain: Promise<unknown> = Promise.resolve();
port.on('message', (msg: CallMessage) => {
  chain = chain.then(async () => {
    let reply: ReplyMessage;
    try {
      const fn = (model as unknown as Record<string, (...a: unknown[]) => unknown>)[msg.method];
      if (typeof fn !== 'function') throw new Error(`unknown stage-model method ${msg.method}`);
      reply = { id: msg.id, ok: true, value: await fn.apply(model, msg.args) };
    } catch (e) {
      const err = e as Error;
      reply = { id: msg.id, ok: false, error: { name: err.name ?? 'Error', message: err.message ?? String(e) } };
    }
    port.postMessage(reply, reply.ok ? transferables([reply.value]) : []);
  });
});
