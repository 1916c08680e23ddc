import { randomUUID } from 'node:crypto';
import type { ActArray } from '@ivl/runtime';
import { ChoiceForks } from './choice-forks';
import { BatchExecutor, MicroBatch } from './micro-batch';
import type { PrefixCache } from './prefix-cache';
import { Sequence } from './sequence';

export interface SchedulerOptions {
  /** Micro-batches in flight at once: one per stage keeps every stage busy. */
  maxInFlight: number;
  /** Decode rows per micro-batch. */
  maxBatch: number;
  /**
   * The step's token budget for prefill: prompt positions one micro-batch may carry next to its decode rows
   * (chunked prefill). A new long prompt then holds running answers up by at most this much compute per step.
   */
  prefillChunk: number;
  vocab: number;
  onBatchDone?: (b: MicroBatch, ms: number) => void;
  onRelease?: (seq: Sequence) => void;
  /** A micro-batch failed (its sequences fail too); e.g. the prefix cache is cleared, a stage may have lost KV. */
  onBatchFailed?: (b: MicroBatch, e: Error) => void;
  /** The prefix cache: told when a fork's first chunk has run and when a prompt is prefilled. */
  prefix?: Pick<PrefixCache, 'unpin' | 'prefilled'>;
}

/**
 * Continuous batching over the ring with a token budget per step (vLLM V1's scheduler idea). Sequences join
 * between steps. Every micro-batch carries the decode rows of the running sequences that are ready (split over
 * as many micro-batches as there are free slots, so with N stages N groups are in flight and every stage works)
 * plus at most `prefillChunk` prompt positions, taken from the waiting prompts in arrival order. A long prompt or
 * image therefore never stops running answers: it rides along, a bounded chunk per step. The choices of one request
 * (`Sequence.group`) prefill their prompt once: the others wait for the first and fork from it (ChoiceForks).
 */
export class Scheduler {
  private readonly seqs = new Set<Sequence>();
  private inFlight = 0;
  private epoch = randomUUID().slice(0, 8);
  private counter = 0;
  private readonly forks = new ChoiceForks((s) => this.o.prefix?.unpin(s.prefix));
  /** Sequences that ended while a fork from them had not run yet: they finish (and free their KV) once it has. */
  private readonly lingering = new Map<Sequence, () => void>();

  constructor(private readonly exec: BatchExecutor, private readonly o: SchedulerOptions) {}

  get running(): number {
    return this.seqs.size;
  }

  get batchesInFlight(): number {
    return this.inFlight;
  }

  /**
   * Starts a sequence; with a prefix-cache hit its prefill begins after the cached positions. A choice whose
   * sibling is still prefilling the prompt waits for it, then begins after the positions it forks.
   */
  add(seq: Sequence): void {
    seq.position = seq.ids.length;
    const cached = seq.prefix?.hit?.length ?? 0;
    if (cached >= seq.ids.length) throw new RangeError(`sequence ${seq.id}: a cached prefix of ${cached} positions leaves nothing to prefill`);
    seq.prefillSent = seq.prefilled = cached;
    this.seqs.add(seq);
    this.forks.join(seq);
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
    // Their forks will not run: what ended before them goes now.
    for (const done of this.lingering.values()) done();
    this.lingering.clear();
    this.forks.clear();
    // Batches still out belong to the old epoch; their results are ignored when (if) they come back.
    this.epoch = randomUUID().slice(0, 8);
  }

  private complete(seq: Sequence): void {
    if (!this.seqs.delete(seq)) return;
    this.leave(seq, () => {
      seq.finish();
      this.o.onRelease?.(seq);
    });
  }

  /** A sequence left: its own fork's pin goes, and it ends now or, while forks from it have not run, after them. */
  private leave(seq: Sequence, end: () => void): void {
    this.unpinFork(seq);
    this.forks.leave(seq, this.seqs);
    if (seq.forkPins > 0) this.lingering.set(seq, end);
    else end();
  }

  private unpinFork(seq: Sequence): void {
    const source = this.forks.unpin(seq);
    const end = source && !source.forkPins ? this.lingering.get(source) : undefined;
    if (!end) return;
    this.lingering.delete(source!);
    end();
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
    const prefill: Sequence[] = [];
    for (const s of this.seqs) {
      if (s.cancelled || s.waitsFor) continue;
      if (s.state === 'decode' && !s.inFlight) decode.push(s);
      else if (s.state === 'prefill' && s.prefillSent < s.ids.length) prefill.push(s);
    }
    // Longest-waiting first, so rows beyond maxBatch take turns instead of starving; groups of about
    // running ÷ maxInFlight keep the micro-batches in flight balanced.
    decode.sort((a, b) => a.lastStep - b.lastStep);
    const free = this.o.maxInFlight - this.inFlight;
    let decoding = 0;
    for (const s of this.seqs) if (s.state === 'decode' && !s.cancelled) decoding++;
    const size = Math.min(this.o.maxBatch, Math.ceil(decode.length / free), Math.ceil(decoding / this.o.maxInFlight));
    const rows = decode.slice(0, size);
    const chunks: Array<{ s: Sequence; from: number; to: number }> = [];
    let budget = this.o.prefillChunk;
    for (const s of prefill) {
      if (budget <= 0) break;
      const from = s.prefillSent;
      const to = Math.min(s.ids.length, from + budget);
      budget -= to - from;
      chunks.push({ s, from, to });
    }
    if (!rows.length && !chunks.length) return undefined;
    return this.batch(rows, chunks);
  }

  private id(): string {
    return `${this.epoch}-${this.counter++}`;
  }

  /** Decode rows first, then prefill chunks; logits for every decode row and for the last row of a finished prompt. */
  private batch(rows: Sequence[], chunks: Array<{ s: Sequence; from: number; to: number }>): MicroBatch {
    const b: MicroBatch = { id: this.id(), kind: chunks.length ? 'prefill' : 'decode', seqs: [], spans: [], prefill: [], ids: [], logitRows: [] };
    const images: ActArray[] = [];
    for (const s of rows) {
      s.inFlight = true;
      s.lastStep = this.counter;
      b.logitRows.push(b.ids.length);
      b.seqs.push(s);
      b.spans.push({ seq: s.id, start: s.position, length: 1 });
      b.prefill.push(false);
      b.ids.push(s.nextToken);
      s.fedTokens.push(s.nextToken);
    }
    for (const { s, from, to } of chunks) {
      s.prefillSent = to;
      s.prefillStartedAt ??= Date.now();
      const last = to === s.ids.length;
      if (last) s.inFlight = true;
      b.seqs.push(s);
      // A prefix-cache hit or a fork: the first chunk tells every stage to copy the source's positions first.
      const start = s.startFrom;
      b.spans.push({ seq: s.id, start: from, length: to - from, ...(start && from === start.length ? { from: start.from } : {}) });
      b.prefill.push(true);
      for (let p = from; p < to; p++) b.ids.push(s.ids[p]);
      if (last) b.logitRows.push(b.ids.length - 1);
      const img = s.imageRowsFor(from, to);
      if (img) images.push(img);
    }
    if (images.length) b.imageRows = concatRows(images);
    return b;
  }

  private launch(b: MicroBatch): void {
    this.inFlight++;
    const epoch = this.epoch;
    const t0 = performance.now();
    this.exec.run(b).then(
      async (logits) => {
        // A constrained sequence's next mask is computed while its token goes round; it is waited for here.
        const waits = b.seqs.map((s) => s.decoder.ready()).filter((w) => w !== undefined);
        if (waits.length) await Promise.all(waits);
        this.inFlight--;
        if (epoch === this.epoch) {
          this.o.onBatchDone?.(b, performance.now() - t0);
          this.accept(b, logits);
        }
        this.pump();
      },
      (e: Error) => {
        this.inFlight--;
        if (epoch === this.epoch) {
          this.o.onBatchFailed?.(b, e);
          for (const s of b.seqs) this.failOne(s, e);
        }
        this.pump();
      },
    );
  }

  private failOne(s: Sequence, e: Error): void {
    if (!this.seqs.delete(s)) return;
    this.leave(s, () => {
      s.fail(e);
      this.o.onRelease?.(s);
    });
  }

  private accept(b: MicroBatch, logits: Float32Array): void {
    const V = this.o.vocab;
    let row = 0;
    b.seqs.forEach((s, i) => {
      const span = b.spans[i];
      const finishesPrompt = !b.prefill[i] || span.start + span.length === s.ids.length;
      const at = finishesPrompt ? row++ : -1;
      if (!this.seqs.has(s)) return;
      s.committed = Math.max(s.committed, span.start + span.length);
      if (span.from !== undefined) {
        if (s.fork) this.unpinFork(s);
        else this.o.prefix?.unpin(s.prefix);
      }
      if (b.prefill[i]) {
        s.prefilled = span.start + span.length;
        if (finishesPrompt) {
          this.o.prefix?.prefilled(s);
          this.forks.prefilled(s, this.seqs);
        }
        if (!finishesPrompt) {
          if (s.cancelled && s.prefilled === s.prefillSent) this.complete(s);
          return;
        }
      }
      s.inFlight = false;
      if (s.cancelled) return this.complete(s);
      const step = s.decoder.accept(logits.subarray(at * V, (at + 1) * V));
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

function concatRows(parts: ActArray[]): ActArray {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = parts[0] instanceof Float32Array ? new Float32Array(n) : new Uint16Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p as never, o);
    o += p.length;
  }
  return out;
}
