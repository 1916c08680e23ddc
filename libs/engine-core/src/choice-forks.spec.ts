import { beforeAll, describe, expect, it } from 'vitest';
import { IvlTokenizer, loadTokenizer } from '@ivl/prompt';
import { tinyCheckpoint } from '@ivl/test-support';
import { Admission } from './admission';
import { forkLength } from './choice-forks';
import type { MicroBatch } from './micro-batch';
import { PrefixCache } from './prefix-cache';
import { Scheduler, SchedulerOptions } from './scheduler';
import { Sequence } from './sequence';
import { FakeRing, V, fakeSeq } from './testing/fake-ring';

let tok: IvlTokenizer;
beforeAll(async () => {
  tok = await loadTokenizer(tinyCheckpoint('tiny'));
});

/** A choice of request `group`: every choice has the same prompt of `promptLen` tokens. */
const choice = (id: string, promptLen: number, maxNewTokens: number, group = 'r1', images = 0) => {
  const s = fakeSeq(tok, id, promptLen, maxNewTokens, images);
  s.group = group;
  return s;
};
const opts = (o: Partial<SchedulerOptions> = {}): SchedulerOptions => ({ maxInFlight: 1, maxBatch: 8, prefillChunk: 16, vocab: V, ...o });
const prefillSpans = (b: MicroBatch) => b.spans.filter((_, i) => b.prefill[i]);
const prefillTokens = (bs: MicroBatch[]) => bs.reduce((a, b) => a + prefillSpans(b).reduce((x, s) => x + s.length, 0), 0);

describe('Scheduler: the choices of one request prefill their prompt once', () => {
  it('n = 4: the first choice prefills alone, the others wait and then prefill only the last position, forked from it', async () => {
    const ring = new FakeRing();
    const s = new Scheduler(ring, opts());
    const cs = ['c0', 'c1', 'c2', 'c3'].map((id) => choice(id, 100, 3));
    cs.forEach((c) => s.add(c));
    while (ring.inFlight) await ring.step();
    const chunks = ring.batches.flatMap((b) => prefillSpans(b).map((x) => ({ ...x, step: ring.batches.indexOf(b) })));
    // c0's seven chunks run alone, one step each; nobody else's prefill rides along.
    const lead = chunks.filter((c) => c.seq === 'c0');
    expect(lead.map((c) => [c.start, c.length, c.step])).toEqual([[0, 16, 0], [16, 16, 1], [32, 16, 2], [48, 16, 3], [64, 16, 4], [80, 16, 5], [96, 4, 6]]);
    expect(ring.batches.slice(0, 7).every((b) => b.seqs.every((q) => q.id === 'c0'))).toBe(true);
    // The step after: c0 decodes, and the others' one chunk each copies c0's 99 positions and prefills the 100th.
    const forks = chunks.filter((c) => c.seq !== 'c0');
    expect(forks).toEqual(['c1', 'c2', 'c3'].map((seq) => ({ seq, start: 99, length: 1, from: 'c0', step: 7 })));
    expect(prefillTokens(ring.batches)).toBe(103); // against 4 × 100 when each choice prefills
    expect(cs.map((c) => c.cachedTokens)).toEqual([0, 99, 99, 99]);
    // Each choice sampled its first token from its own logit row (the fake ring answers row k with 1000 + k).
    expect(cs.map((c) => c.decoder.tokens[0])).toEqual([1000, 1001, 1002, 1003]);
    expect(cs.every((c) => c.state === 'done' && c.decoder.tokens.length === 3)).toBe(true);
  });

  it('other requests are not held back: a prompt without a group is prefilled next to the waiting choices', async () => {
    const ring = new FakeRing();
    const s = new Scheduler(ring, opts({ prefillChunk: 24 }));
    [choice('a0', 40, 2), choice('a1', 40, 2)].forEach((c) => s.add(c));
    s.add(fakeSeq(tok, 'x', 10, 2));
    await ring.step();
    await ring.step();
    // a1 waits for a0's prompt; x shares the budget with a0 meanwhile, and with a1's fork afterwards.
    expect(prefillSpans(ring.batches[1])).toEqual([{ seq: 'a0', start: 24, length: 16 }, { seq: 'x', start: 0, length: 8 }]);
    expect(prefillSpans(ring.batches[2])).toEqual([{ seq: 'a1', start: 39, length: 1, from: 'a0' }, { seq: 'x', start: 8, length: 2 }]);
  });

  it('a choice that starts after the prompt is prefilled forks at once; a source that ends first waits for that fork', async () => {
    const ring = new FakeRing();
    const released: string[] = [];
    const s = new Scheduler(ring, opts({ onRelease: (q) => released.push(q.id) }));
    const c0 = choice('c0', 10, 1); // one token: it ends with its prefill
    s.add(c0);
    await ring.step();
    expect(c0.decoder.tokens).toHaveLength(1);
    const late = choice('c1', 10, 2);
    s.add(late);
    // c0 left with its only token, and the prefix cache is off: the late choice leads anew and prefills in full.
    expect(released).toEqual(['c0']);
    expect(prefillSpans(ring.batches.at(-1)!)).toEqual([{ seq: 'c1', start: 0, length: 10 }]);

    // Now a source that is still running when the choice arrives, and that ends before the fork's chunk has run.
    const ring2 = new FakeRing();
    const rel2: string[] = [];
    const s2 = new Scheduler(ring2, opts({ maxInFlight: 2, onRelease: (q) => rel2.push(q.id) }));
    const d0 = choice('d0', 10, 2, 'r2');
    s2.add(d0);
    await ring2.step(); // d0's prompt is prefilled; its decode step is in flight
    const d1 = choice('d1', 10, 2, 'r2');
    s2.add(d1);
    expect(prefillSpans(ring2.batches.at(-1)!)).toEqual([{ seq: 'd1', start: 9, length: 1, from: 'd0' }]);
    await ring2.step(); // d0 finishes while d1's fork chunk is still out
    expect(d0.decoder.tokens).toHaveLength(2);
    expect(rel2).toEqual([]); // its KV stays on every stage: the fork copies it
    let settled = false;
    void d0.done.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    await ring2.step(); // the fork chunk ran
    expect(rel2).toEqual(['d0']);
    expect(settled).toBe(true);
    while (ring2.inFlight) await ring2.step();
    expect(d1.state).toBe('done');
    expect(rel2).toEqual(['d0', 'd1']);
  });

  it('the first choice cancelled during its prefill: the next one leads and prefills in full, the rest fork from it', async () => {
    const ring = new FakeRing();
    const s = new Scheduler(ring, opts());
    const cs = ['c0', 'c1', 'c2'].map((id) => choice(id, 40, 2));
    cs.forEach((c) => s.add(c));
    s.cancel(cs[0]);
    while (ring.inFlight) await ring.step();
    const spans = ring.batches.flatMap(prefillSpans);
    expect(spans.filter((x) => x.seq === 'c1').map((x) => [x.start, x.length, x.from])).toEqual([[0, 16, undefined], [16, 16, undefined], [32, 8, undefined]]);
    expect(spans.filter((x) => x.seq === 'c2')).toEqual([{ seq: 'c2', start: 39, length: 1, from: 'c1' }]);
    expect(cs.map((c) => c.decoder.tokens.length)).toEqual([0, 2, 2]);
  });

  it('with the prefix cache: a shorter cached hit is given up (unpinned) for the fork', async () => {
    const admission = new Admission(1e9);
    const prefix = new PrefixCache({ admission, release: () => undefined });
    const ring = new FakeRing();
    const s = new Scheduler(ring, opts({ prefillChunk: 64, prefix, onRelease: (q) => prefix.retain(q) }));
    // An earlier request with the same first 32 positions, finished and cached.
    const base = fakeSeq(tok, 'old', 40, 1);
    base.prefix = prefix.lookup(base.ids, []);
    s.add(base);
    await ring.step();
    const cs = ['c0', 'c1'].map((id) => choice(id, 50, 1));
    cs.forEach((c) => (c.prefix = prefix.lookup(c.ids, [])));
    expect(cs.map((c) => c.prefix!.hit?.length)).toEqual([32, 32]);
    expect(prefix.index.get('old')!.pins).toBe(2);
    cs.forEach((c) => s.add(c));
    while (ring.inFlight) await ring.step();
    expect(ring.batches.flatMap(prefillSpans).slice(1)).toEqual([
      { seq: 'c0', start: 32, length: 18, from: 'old' },
      { seq: 'c1', start: 49, length: 1, from: 'c0' },
    ]);
    expect(cs.map((c) => c.cachedTokens)).toEqual([32, 49]);
    // Unpinned by both: then dropped, as c0's entry holds every block of it.
    expect(prefix.index.get('old')).toBeUndefined();
  });

  it('a fork never ends inside an image, and takes only what a retried choice shares', () => {
    const mk = (id: string, ids: number[], images = 0) => new Sequence(id, ids, ids.length, fakeSeq(tok, id, 1, 1).decoder, undefined, images ? 151667 : -1, 4, () => undefined);
    const img = [100, 101, 151667, 151667, 151667, 151667];
    expect(forkLength(mk('a', img, 4), mk('b', img, 4))).toBe(2);
    expect(forkLength(mk('a', [1, 2, 3, 4, 5]), mk('b', [1, 2, 3, 4, 5, 9, 9]))).toBe(5);
    expect(forkLength(mk('a', [1, 2, 3, 4, 5, 7]), mk('b', [1, 2, 3, 4, 5, 9, 9]))).toBe(5);
    expect(forkLength(mk('a', [1, 2, 3]), mk('b', [1, 2, 3]))).toBe(2);
  });
});
