import { GREEDY, SequenceDecoder } from '@ivl/generation';
import type { IvlTokenizer } from '@ivl/prompt';
import type { BatchExecutor, MicroBatch } from '../micro-batch';
import { Sequence } from '../sequence';

/** Test fixtures of the scheduler specs: the tiny model's vocabulary size, its image token, a 4-wide hidden state. */
export const V = 151674;
export const IMG = 151667;
export const H = 4;

/**
 * A ring that holds every micro-batch until the test releases it, and answers logit row k of a batch with token
 * 1000 + k (so which row reached which sequence is checkable). It records what each step carried.
 */
export class FakeRing implements BatchExecutor {
  readonly batches: MicroBatch[] = [];
  private readonly open: Array<{ b: MicroBatch; resolve: (l: Float32Array) => void; reject: (e: Error) => void }> = [];
  run(b: MicroBatch): Promise<Float32Array> {
    this.batches.push(b);
    return new Promise((resolve, reject) => this.open.push({ b, resolve, reject }));
  }
  get inFlight(): number {
    return this.open.length;
  }
  /** Completes the oldest batch in flight and lets the scheduler react. */
  async step(): Promise<MicroBatch> {
    const { b, resolve } = this.open.shift()!;
    const logits = new Float32Array(b.logitRows.length * V);
    b.logitRows.forEach((_, k) => (logits[k * V + 1000 + k] = 1));
    resolve(logits);
    await new Promise((r) => setImmediate(r));
    return b;
  }
  /** Fails the oldest batch in flight (a stage refused it). */
  async fail(e: Error): Promise<MicroBatch> {
    const { b, reject } = this.open.shift()!;
    reject(e);
    await new Promise((r) => setImmediate(r));
    return b;
  }
}

/** A greedy sequence of `promptLen` tokens (100, 101, …, or `ids`), image tokens at 2 .. 2 + images. */
export function fakeSeq(tok: IvlTokenizer, id: string, promptLen: number, maxNewTokens: number, images = 0, ids?: number[]): Sequence {
  const prompt = ids ?? Array.from({ length: promptLen }, (_, i) => (i >= 2 && i < 2 + images ? IMG : 100 + i));
  const d = new SequenceDecoder(tok, prompt, { params: { ...GREEDY, maxNewTokens, ignoreEos: true }, eosTokenIds: [151645], seed: 0 });
  const rows = images ? new Float32Array(images * H).map((_, i) => i) : undefined;
  return new Sequence(id, prompt, prompt.length, d, rows, IMG, H, () => undefined);
}
