import type { ActivationBatch, RingLink } from '@ivl/pipeline';
import type { StageModelClient } from '@ivl/runtime';
import { BatchExecutor, MicroBatch } from './micro-batch';

export class RingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RingError';
  }
}

export interface HopTiming {
  /** Milliseconds each stage spent in its forward pass for this batch. */
  forwardMs: Record<number, number>;
  /** Round trip from sending to stage 1 until the batch came back, in milliseconds. */
  ringMs: number;
  bytes: number;
}

/**
 * Stage 0's executor: embeddings and first layers here, then round the ring, then the last layers and the head
 * here. With a single stage there is no ring and everything runs locally.
 */
export class RingExecutor implements BatchExecutor {
  private readonly pending = new Map<string, { resolve: (b: ActivationBatch) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  onHop?: (t: HopTiming, b: MicroBatch) => void;
  /** Milliseconds stage 0 itself computed for a batch (embeddings, its layers, the head). */
  onStageTime?: (ms: number, b: MicroBatch) => void;

  constructor(
    private readonly model: StageModelClient,
    private readonly link: RingLink | undefined,
    private readonly hidden: number,
    private readonly timeoutMs: number,
    /** Trace context carried by a batch round the ring (empty when the batch is not traced). */
    private readonly trace: (b: MicroBatch) => Record<string, string> = () => ({}),
  ) {}

  async run(b: MicroBatch): Promise<Float32Array> {
    const t0 = performance.now();
    let h = await this.model.front({ ids: b.ids, spans: b.spans, imageRows: b.imageRows });
    const frontMs = performance.now() - t0;
    if (this.link) {
      const back = this.awaitReturn(b.id);
      const sent = performance.now();
      try {
        await this.link.send({ batchId: b.id, spans: b.spans, data: h, hidden: this.hidden, trace: this.trace(b), forwardMs: { 0: frontMs }, sentAtMs: Date.now(), wireBytes: 0 });
      } catch (e) {
        this.settle(b.id)?.reject(new RingError((e as Error).message));
      }
      const ret = await back;
      if (ret.error || !ret.data) throw new RingError(ret.error || `batch ${b.id} came back without data`);
      this.onHop?.({ forwardMs: ret.forwardMs, ringMs: performance.now() - sent, bytes: ret.wireBytes }, b);
      h = ret.data;
    }
    const t1 = performance.now();
    const logits = await this.model.back(h, b.spans, b.logitRows);
    this.onStageTime?.(frontMs + performance.now() - t1, b);
    return logits;
  }

  /** A batch arriving from the last stage. Unknown ids (from before a failure) are dropped. */
  onReturn(batch: ActivationBatch): void {
    this.settle(batch.batchId)?.resolve(batch);
  }

  /** Fails one batch now (the next stage refused it); false when it is no longer waited for. */
  failBatch(id: string, e: Error): boolean {
    const p = this.settle(id);
    p?.reject(e);
    return Boolean(p);
  }

  failAll(e: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(e);
  }

  get waiting(): number {
    return this.pending.size;
  }

  private awaitReturn(id: string): Promise<ActivationBatch> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id)?.reject(new RingError(`batch ${id} did not come back within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  private settle(id: string) {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    clearTimeout(p.timer);
    return p;
  }
}
