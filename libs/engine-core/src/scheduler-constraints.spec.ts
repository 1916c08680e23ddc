import { describe, expect, it } from 'vitest';
import { GREEDY, SequenceDecoder, type TokenConstraint } from '@ivl/generation';
import { loadTokenizer } from '@ivl/prompt';
import { tinyCheckpoint } from '@ivl/test-support';
import type { BatchExecutor, MicroBatch } from './micro-batch';
import { Scheduler } from './scheduler';
import { Sequence } from './sequence';

const V = 151674;

/** Allows one token per step (from a script); its mask is ready only a few milliseconds after each accept. */
class SlowScript implements TokenConstraint {
  private step = 0;
  private pending?: Promise<void>;
  readonly masksAskedBeforeReady: number[] = [];
  private readyFlag = false;
  constructor(private readonly script: number[]) {
    this.schedule();
  }
  private schedule() {
    this.readyFlag = false;
    this.pending = new Promise((r) => setTimeout(r, 5)).then(() => {
      this.readyFlag = true;
      this.pending = undefined;
    });
  }
  ready() {
    return this.pending;
  }
  mask(scores: Float32Array) {
    if (!this.readyFlag) this.masksAskedBeforeReady.push(this.step);
    const allowed = this.script[this.step];
    for (let i = 0; i < scores.length; i++) if (i !== allowed) scores[i] = -Infinity;
  }
  accept(_token: number, last: boolean) {
    this.step++;
    if (!last) this.schedule();
  }
  dispose() {
    this.pending = undefined;
  }
}

describe('Scheduler with constrained sequences', () => {
  it('waits for each constrained sequence of a batched step before sampling it, and samples only what the constraint allows', async () => {
    const tok = await loadTokenizer(tinyCheckpoint());
    const batches: MicroBatch[] = [];
    // Logits that always prefer token 0: only the constraint can make the sequence say anything else.
    const exec: BatchExecutor = {
      run: async (b) => {
        batches.push(b);
        const out = new Float32Array(b.logitRows.length * V);
        for (let r = 0; r < b.logitRows.length; r++) out[r * V] = 10;
        return out;
      },
    };
    const scheduler = new Scheduler(exec, { maxInFlight: 2, maxBatch: 8, prefillChunk: 64, vocab: V });
    const eos = 151645;
    const scripts = [[11, 12, 13, eos], [21, 22, eos]];
    const constraints = scripts.map((s) => new SlowScript(s));
    const seqs = constraints.map((c, k) => {
      const ids = [1, 2, 3];
      const decoder = new SequenceDecoder(tok, ids, { params: { ...GREEDY, maxNewTokens: 10 }, eosTokenIds: [eos], seed: 1, constraint: c });
      return new Sequence(`s${k}`, ids, ids.length, decoder, undefined, -1, 8, () => undefined);
    });
    // A plain sequence in the same batches is not held back by the others' constraints beyond their step.
    const plainDecoder = new SequenceDecoder(tok, [1, 2, 3], { params: { ...GREEDY, maxNewTokens: 3 }, eosTokenIds: [eos], seed: 1 });
    const plain = new Sequence('plain', [1, 2, 3], 3, plainDecoder, undefined, -1, 8, () => undefined);
    for (const s of [...seqs, plain]) scheduler.add(s);
    await Promise.all([...seqs, plain].map((s) => s.done));
    expect(seqs.map((s) => s.decoder.tokens)).toEqual(scripts);
    expect(plain.decoder.tokens).toEqual([0, 0, 0]);
    expect(constraints.map((c) => c.masksAskedBeforeReady)).toEqual([[], []]);
    // Constrained and plain sequences shared decode batches.
    expect(batches.some((b) => b.kind === 'decode' && b.seqs.length > 1 && b.seqs.includes(plain))).toBe(true);
  });
});
