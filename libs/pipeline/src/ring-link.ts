import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { SeqChunk } from '@ivl/runtime';
import { ActivationBatch, encodeBatch } from './activation-codec';
import { ActivationBatchMsg, ForwardEventMsg } from './messages';
import { CHANNEL_OPTIONS, stageServiceClient } from './protos';

/** The next stage refused a batch (malformed, out of KV, its forward pass failed). */
export interface RemoteBatchError {
  batchId: string;
  message: string;
  code: string;
  /** The batch's sequences, when it was sent on this link (for an error batch sent on in its place). */
  spans?: SeqChunk[];
}

/** Batches sent but not yet acknowledged are remembered (up to this many) to name their sequences on an error. */
const MAX_UNACKED = 1024;

export class LinkDownError extends Error {
  constructor(target: string, why: string) {
    super(`link to ${target} is down: ${why}`);
    this.name = 'LinkDownError';
  }
}

/**
 * The long-lived Forward stream from this stage to the next one in the ring. Reconnects by itself with backoff;
 * `send` honours HTTP/2 flow control (waits for 'drain'), so a slow next stage slows this one instead of
 * buffering without bound. Emits 'up', 'down' and 'remoteError' (a RemoteBatchError: the next stage refused a
 * batch; whoever sent it must fail it now rather than wait for a timeout).
 */
export class RingLink extends EventEmitter {
  private readonly client: grpc.Client & Record<string, unknown>;
  private call?: grpc.ClientDuplexStream<ActivationBatchMsg, ForwardEventMsg>;
  private closed = false;
  private backoff = 100;
  private timer?: NodeJS.Timeout;
  connected = false;
  bytesSent = 0;
  private readonly unacked = new Map<string, SeqChunk[]>();

  constructor(readonly target: string, private readonly chunkBytes?: number) {
    super();
    const Ctor = stageServiceClient();
    this.client = new Ctor(target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as grpc.Client & Record<string, unknown>;
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const call = (this.client.Forward as () => grpc.ClientDuplexStream<ActivationBatchMsg, ForwardEventMsg>).call(this.client);
    this.call = call;
    let up = false;
    // The stream is only known to be usable once the server has answered the headers.
    call.on('metadata', () => {
      up = true;
      this.backoff = 100;
      this.setConnected(true, 'connected');
    });
    call.on('data', (ev: ForwardEventMsg) => {
      if (ev.ack) this.unacked.delete(ev.ack.batch_id);
      if (ev.error) {
        const spans = this.unacked.get(ev.error.batch_id);
        this.unacked.delete(ev.error.batch_id);
        const err: RemoteBatchError = { batchId: ev.error.batch_id, message: ev.error.message, code: ev.error.code, spans };
        this.emit('remoteError', err);
      }
    });
    const lost = (why: string) => {
      if (this.call !== call) return;
      this.call = undefined;
      this.unacked.clear();
      this.setConnected(false, why);
      if (!this.closed) {
        this.timer = setTimeout(() => this.open(), up ? 50 : this.backoff);
        this.backoff = Math.min(this.backoff * 2, 2000);
      }
    };
    call.on('error', (e: Error) => lost(e.message));
    call.on('end', () => lost('stream ended'));
    call.on('close', () => lost('stream closed'));
  }

  private setConnected(v: boolean, why: string): void {
    if (this.connected === v) return;
    this.connected = v;
    this.emit(v ? 'up' : 'down', why);
  }

  /** Sends a whole batch (chunked); rejects if the link is down. */
  async send(batch: ActivationBatch): Promise<void> {
    this.unacked.set(batch.batchId, batch.spans);
    if (this.unacked.size > MAX_UNACKED) this.unacked.delete(this.unacked.keys().next().value!);
    for (const msg of encodeBatch(batch, this.chunkBytes)) {
      const call = this.call;
      if (!call || !this.connected) throw new LinkDownError(this.target, 'not connected');
      this.bytesSent += msg.data.length;
      if (!call.write(msg)) {
        await new Promise<void>((resolve, reject) => {
          const onDrain = () => {
            cleanup();
            resolve();
          };
          const onDown = () => {
            cleanup();
            reject(new LinkDownError(this.target, 'lost while sending'));
          };
          const cleanup = () => {
            call.off('drain', onDrain);
            this.off('down', onDown);
          };
          call.once('drain', onDrain);
          this.once('down', onDown);
        });
      }
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.call?.cancel();
    this.client.close();
  }
}
