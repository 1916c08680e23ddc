import { randomUUID } from 'node:crypto';
import { BatchExecutor, MicroBatch } from './micro-batch';
import { Sequence } from './sequence';

export interface SchedulerOptions {
  /** Micro-batches in flight at once: one per stage keeps every stage busy. */
  maxInFlight: number;
  maxBatch: number;
  prefillChunk: number;
  vocab: number;
  onBatchDone?: (b: MicroBatch, ms: number) => void;
  onRelease?: (seq: Sequence) => void;
}

/**
 * Continuous batching over the ring. Sequences join between steps; decode-ready sequences are split into as many
 * micro-batches as there are free slots, so with N stages N groups are in flight and every stage works at once;
 * prefill chunks alternate with decode steps so a long image prompt does not stall running answers.
 */
export class Scheduler {
  private readonly seqs = new Set<Sequence>();
  private inFlight = 0;
  private lastKind: 'prefill' | 'decode' = 'decode';
  private epoch = randomUUID().slice(0, 8);
  private counter = 0;

  constructor(private readonly exec: BatchExecutor, private readonly o: SchedulerOptions) {}

  get running(): number {
    return this.seqs.size;
  }

  get batchesInFlight(): number {
    return this.inFlight;
  }

  add(seq: Sequence): void {
    seq.position = seq.ids.length;
    this.seqs.add(seq);
    this.pump();
  }

  /** Ends a sequence early (cancel); it leaves at once if no batch of it is in flight. */
  cancel(seq: Sequence): void {
    seq.cancelled = true;
    seq.decoder.abort('cancelled');
    if (!seq.inFlight && seq.prefillSent === seq.prefilled) this.complete(seq);
  }

  /** Fails every sequence (the ring broke): their jobs are retried once it is whole again. */
  failAll(e: Error): void {
    for (const s of [...this.seqs]) {
      this.seqs.delete(s);
      s.fail(e);
      this.o.onRelease?.(s);
    }
    // Batches still out belong to the old epoch; their results are ignored when (if) they come back.
    this.epoch = randomUUID().slice(0, 8);
  }

  private complete(seq: Sequence): void {
    if (!this.seqs.delete(seq)) return;
    seq.finish();
    this.o.onRelease?.(seq);
  }

  private pump(): void {
    while (this.inFlight < this.o.maxInFlight) {
      const b = this.next();
      if (!b) return;
      this.launch(b);
    }
  }

  private next(): MicroBatch | undefined {
    const decode: Sequence[] = [];
    let prefill: Sequence | undefined;
    for (const s of this.seqs) {
      if (s.state === 'decode' && !s.inFlight && !s.cancelled) decode.push(s);
      else if (s.state === 'prefill' && s.prefillSent < s.ids.length && !s.cancelled && !prefill) prefill = s;
    }
    if (prefill && (this.lastKind === 'decode' || !decode.length)) return this.prefillBatch(prefill);
    if (decode.length) {
      const free = this.o.maxInFlight - this.inFlight;
      const size = Math.min(this.o.maxBatch, Math.ceil(decode.length / free));
      return this.decodeBatch(decode.slice(0, size));
    }
    return prefill ? this.prefillBatch(prefill) : undefined;
  }

  private id(): string {
    return `${this.epoch}-${this.counter++}`;
  }

  private prefillBatch(s: Sequence): MicroBatch {
    const from = s.prefillSent;
    const to = Math.min(s.ids.length, from + this.o.prefillChunk);
    s.prefillSent = to;
    s.prefillStartedAt ??= Date.now();
    const last = to === s.ids.length;
    if (last) s.inFlight = true;
    this.lastKind = 'prefill';
    return {
      id: this.id(),
      kind: 'prefill',
      seqs: [s],
      spans: [{ seq: s.id, start: from, length: to - from }],
      ids: s.ids.slice(from, to),
      imageRows: s.imageRowsFor(from, to),
      logitRows: last ? [to - from - 1] : [],
    };
  }

  private decodeBatch(seqs: Sequence[]): MicroBatch {
    seqs.forEach((s) => (s.inFlight = true));
    this.lastKind = 'decode';
    return {
      id: this.id(),
      kind: 'decode',
      seqs,
      spans: seqs.map((s) => ({ seq: s.id, start: s.position, length: 1 })),
      ids: seqs.map((s) => s.nextToken),
      logitRows: seqs.map((_, i) => i),
    };
  }

  private launch(b: MicroBatch): void {
    this.inFlight++;
    const epoch = this.epoch;
    const t0 = performance.now();
    this.exec.run(b).then(
      (logits) => {
        this.inFlight--;
        if (epoch === this.epoch) {
          this.o.onBatchDone?.(b, performance.now() - t0);
          this.accept(b, logits);
        }
        this.pump();
      },
      (e: Error) => {
        this.inFlight--;
        if (epoch === this.epoch) for (const s of b.seqs) this.failOne(s, e);
        this.pump();
      },
    );
  }

  private failOne(s: Sequence, e: Error): void {
    if (!this.seqs.delete(s)) return;
    s.fail(e);
    this.o.onRelease?.(s);
  }

  private accept(b: MicroBatch, logits: Float32Array): void {
    const V = this.o.vocab;
    b.seqs.forEach((s, i) => {
      if (!this.seqs.has(s)) return;
      if (b.kind === 'prefill') {
        s.prefilled = b.spans[0].start + b.spans[0].length;
        if (s.prefilled < s.ids.length) {
          if (s.cancelled && s.prefilled === s.prefillSent) this.complete(s);
          return;
        }
      }
      s.inFlight = false;
      if (s.cancelled) return this.complete(s);
      const step = s.decoder.accept(logits.subarray(i * V, (i + 1) * V));
      s.firstTokenAt ??= Date.now();
      s.onStep(step);
      if (step.finished) return this.complete(s);
      s.state = 'decode';
      s.nextToken = step.token;
      // The token just sampled is fed at the position after the prompt and every token before it.
      s.position = s.promptLength + s.decoder.tokens.length - 1;
    });
  }
}
