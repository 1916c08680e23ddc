import { beforeAll, describe, expect, it } from 'vitest';
import { IvlTokenizer, loadTokenizer } from '@ivl/prompt';
import { tinyCheckpoint } from '@ivl/test-support';
import type { MicroBatch } from './micro-batch';
import { Scheduler, SchedulerOptions } from './scheduler';
import { FakeRing, V, fakeSeq } from './testing/fake-ring';

let tok: IvlTokenizer;
beforeAll(async () => {
  tok = await loadTokenizer(tinyCheckpoint('tiny'));
});

const seq = (id: string, promptLen: number, maxNewTokens: number, images = 0) => fakeSeq(tok, id, promptLen, maxNewTokens, images);
const opts = (o: Partial<SchedulerOptions> = {}): SchedulerOptions => ({ maxInFlight: 1, maxBatch: 8, prefillChunk: 16, vocab: V, ...o });
const prefillTokens = (b: MicroBatch) => b.spans.filter((_, i) => b.prefill[i]).reduce((a, s) => a + s.length, 0);
const decodeRows = (b: MicroBatch) => b.spans.filter((_, i) => !b.prefill[i]).map((s) => s.seq);

describe('Scheduler: steps with a token budget', () => {
  it('a long prompt arriving while answers run rides along in budget-sized chunks; every step keeps all decode rows', async () => {
    const ring = new FakeRing();
    const s = new Scheduler(ring, opts());
    const running = ['a', 'b', 'c', 'd'].map((id) => seq(id, 5, 200));
    running.forEach((q) => s.add(q));
    // 'a' starts alone (the ring was idle); the three prompts that arrived meanwhile share the next step.
    expect(ring.batches[0].spans.map((x) => [x.seq, x.length])).toEqual([['a', 5]]);
    await ring.step();
    expect(ring.batches[1].spans.map((x) => [x.seq, x.length])).toEqual([['a', 1], ['b', 5], ['c', 5], ['d', 5]]);
    await ring.step();
    const long = seq('long', 100, 3);
    s.add(long);
    const first = ring.batches.length; // the step in flight was formed before it arrived
    for (let i = 0; i < 9; i++) await ring.step();
    const steps = ring.batches.slice(first, first + 8);
    for (const b of steps.slice(0, 7)) {
      expect(decodeRows(b).sort()).toEqual(['a', 'b', 'c', 'd']); // no running answer skips a step
      expect(prefillTokens(b)).toBeLessThanOrEqual(16); // the budget holds
    }
    // The prompt is chunked at the budget, in order, with its last-row logits only at the end.
    const chunks = steps.flatMap((b) => b.spans.filter((x, i) => x.seq === 'long' && b.prefill[i]));
    expect(chunks.map((c) => c.start)).toEqual([0, 16, 32, 48, 64, 80, 96]);
    expect(chunks.at(-1)).toEqual({ seq: 'long', start: 96, length: 4 });
    expect(steps[6].logitRows).toEqual([0, 1, 2, 3, 7]);
    // The step after its last chunk decodes it with the others.
    expect(decodeRows(steps[7]).sort()).toEqual(['a', 'b', 'c', 'd', 'long']);
    expect(long.decoder.tokens[0]).toBe(1004); // the fifth logit row of that step is the prompt's last position
  });

  it('waiting prompts are served in arrival order and none starves: a budget is shared first come, first served', async () => {
    const ring = new FakeRing();
    const s = new Scheduler(ring, opts({ prefillChunk: 10 }));
    const p = [seq('p0', 25, 1), seq('p1', 7, 1), seq('p2', 3, 1)];
    p.forEach((q) => s.add(q));
    const carried: Array<Array<[string, number]>> = [];
    while (ring.inFlight) {
      const b = await ring.step();
      carried.push(b.spans.filter((_, i) => b.prefill[i]).map((x) => [x.seq, x.length] as [string, number]));
    }
    expect(carried.slice(0, 4)).toEqual([[['p0', 10]], [['p0', 10]], [['p0', 5], ['p1', 5]], [['p1', 2], ['p2', 3]]]);
    expect(carried.every((c) => c.reduce((a, [, n]) => a + n, 0) <= 10)).toBe(true);
    expect(p.every((q) => q.state === 'done' && q.decoder.tokens.length === 1)).toBe(true);
  });

  it('decode rows are split over the micro-batches in flight, which together cover every running answer', async () => {
    const ring = new FakeRing();
    const s = new Scheduler(ring, opts({ maxInFlight: 2, prefillChunk: 64 }));
    const seqs = Array.from({ length: 6 }, (_, i) => seq(`s${i}`, 4, 50));
    seqs.forEach((q) => s.add(q));
    for (let i = 0; i < 12; i++) await ring.step();
    // However the prompts were grouped, the decode groups settle at 6 ÷ 2 = 3 rows each.
    const decodeSteps = ring.batches.filter((b) => b.kind === 'decode').slice(-4);
    for (const b of decodeSteps) expect(b.seqs).toHaveLength(3);
    const pair = new Set([...decodeRows(decodeSteps[0]), ...decodeRows(decodeSteps[1])]);
    expect(pair.size).toBe(6);
    expect(ring.inFlight).toBe(2);
  });

  it('image rows of a chunk travel with it, only those of the positions it carries', async () => {
    const ring = new FakeRing();
    const s = new Scheduler(ring, opts({ prefillChunk: 4 }));
    s.add(seq('img', 10, 1, 5)); // image tokens at positions 2..6
    await ring.step();
    await ring.step();
    const [b0, b1] = ring.batches;
    expect(Array.from(b0.imageRows!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // positions 2, 3
    expect(Array.from(b1.imageRows!)).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]); // positions 4, 5, 6
  });

  it('honours maxBatch: decode rows beyond it wait for the next step', async () => {
    const ring = new FakeRing();
    const s = new Scheduler(ring, opts({ maxBatch: 3, prefillChunk: 100 }));
    Array.from({ length: 5 }, (_, i) => seq(`m${i}`, 3, 20)).forEach((q) => s.add(q));
    for (let i = 0; i < 10; i++) await ring.step();
    for (const b of ring.batches) expect(decodeRows(b).length).toBeLessThanOrEqual(3);
    // Rows take turns: any two consecutive steps serve all five answers, none waits more than one step.
    const steps = ring.batches.slice(-6);
    for (let i = 0; i + 1 < steps.length; i++) expect(new Set([...decodeRows(steps[i]), ...decodeRows(steps[i + 1])]).size).toBe(5);
  });
});
