import { parentPort, workerData } from 'node:worker_threads';
import { encodeRequest } from '../encode-request';
import type { IvlTokenizer } from '../ivl-tokenizer';
import { loadTokenizer } from '../load-tokenizer';
import type { TokenizerCall, TokenizerReady, TokenizerReply } from './tokenizer-protocol';

// A tokenizer thread of TokenizerPool: the checkpoint's tokenizer, loaded exactly as the gateway loads it, encoding
// off the gateway's event loop (BPE of a long run without spaces takes seconds and cannot be interrupted).
const port = parentPort!;
const { modelDir } = workerData as { modelDir: string };

const errorOf = (e: unknown) => {
  const err = e as Error & { code?: unknown };
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e), code: typeof err?.code === 'string' ? err.code : undefined };
};

function run(tok: IvlTokenizer, { id, task }: TokenizerCall): TokenizerReply {
  switch (task.op) {
    case 'encode':
      return { id, ok: true, ids: Int32Array.from(tok.encode(task.text)) };
    case 'decode':
      return { id, ok: true, text: tok.decode(task.ids, task.options) };
    case 'encodeRequest': {
      const enc = encodeRequest(tok, task.request);
      return { id, ok: true, ids: Int32Array.from(enc.ids), prompt: enc.prompt, imageSpans: [...enc.imageSpans], imageContextCount: enc.imageContextCount };
    }
  }
}

loadTokenizer(modelDir).then(
  (tok) => {
    port.on('message', (call: TokenizerCall) => {
      let reply: TokenizerReply;
      try {
        reply = run(tok, call);
      } catch (e) {
        reply = { id: call.id, ok: false, error: errorOf(e) };
      }
      port.postMessage(reply, reply.ok && reply.ids ? [reply.ids.buffer as ArrayBuffer] : []);
    });
    port.postMessage({ ready: true } satisfies TokenizerReady);
  },
  (e: unknown) => port.postMessage({ ready: false, error: errorOf(e) } satisfies TokenizerReady),
);
