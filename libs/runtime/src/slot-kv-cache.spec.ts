import { describe, expect, it } from 'vitest';
import { KvBudgetError, SlotKvCache, UnknownSequenceError } from './slot-kv-cache';

// 2 layers, 1 KV head, head size 2, fp32: 2 · 2 · 1 · 2 · 4 = 32 bytes per position.
const make = (budgetPositions: number, o = {}) => new SlotKvCache('float32', 2, 1, 2, budgetPositions * 32, { tokenChunk: 4, slotChunk: 2, ...o });

/** Writes `n` positions for `seq` whose values encode (seq tag, position), then commits them. */
function fill(kv: SlotKvCache, seq: string, tag: number, start: number, n: number): void {
  const win = kv.prepare([{ seq, start, length: n }]);
  const k = new Float32Array(n * 2).map((_, i) => tag * 1000 + start + Math.floor(i / 2));
  for (let l = 0; l < 2; l++) kv.write(l, seq, start, n, win.rowOf[0], k, k.map((x) => -x));
  kv.commit(seq, start + n);
}

/** The positions a sequence holds, read back from its slot (layer 0 keys, first element per position). */
function read(kv: SlotKvCache, seq: string): number[] {
  const s = kv.get(seq)!;
  const base = s.slot * kv.slotSize;
  return Array.from({ length: s.length }, (_, p) => kv.keys[0][base + p * 2]);
}

describe('SlotKvCache', () => {
  it('grows capacity in chunks and slots in groups, keeping what every sequence holds', () => {
    const kv = make(1000);
    fill(kv, 'a', 1, 0, 3);
    expect([kv.slots, kv.capacity]).toEqual([2, 4]);
    fill(kv, 'b', 2, 0, 2);
    fill(kv, 'c', 3, 0, 1);
    expect(kv.slots).toBe(4);
    fill(kv, 'a', 1, 3, 6); // a now holds 9 positions: capacity 12
    expect(kv.capacity).toBe(12);
    expect(read(kv, 'a')).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008]);
    expect(read(kv, 'b')).toEqual([2000, 2001]);
    expect(read(kv, 'c')).toEqual([3000]);
    expect(kv.tokensInUse).toBe(4 * 12);
    expect(kv.residentBytes).toBe(4 * 12 * 32);
  });

  it('puts a batch in one contiguous window, moving rows rather than padding the batch', () => {
    const kv = make(1000);
    for (const [i, s] of ['a', 'b', 'c', 'd'].entries()) fill(kv, s, i + 1, 0, 2);
    const win = kv.prepare([
      { seq: 'd', start: 2, length: 1 },
      { seq: 'a', start: 2, length: 1 },
    ]);
    expect(win.rows).toBe(2);
    const slots = win.rowOf.map((r) => win.lo + r);
    expect(new Set(slots).size).toBe(2);
    expect(Math.max(...slots) - Math.min(...slots)).toBe(1);
    expect(kv.get('d')!.slot).toBe(slots[0]);
    // Every sequence still reads its own positions after the move.
    expect(['a', 'b', 'c', 'd'].map((s) => read(kv, s))).toEqual([
      [1000, 1001],
      [2000, 2001],
      [3000, 3001],
      [4000, 4001],
    ]);
  });

  it('refuses a batch beyond the budget (slots × capacity) and changes nothing', () => {
    const kv = make(16);
    fill(kv, 'a', 1, 0, 8);
    expect(() => kv.prepare([{ seq: 'b', start: 0, length: 9 }])).toThrow(KvBudgetError); // 2 × 9 > 16
    expect(kv.sequenceCount).toBe(1);
    fill(kv, 'b', 2, 0, 8); // 2 × 8 = 16: fits exactly, padding dropped to stay in budget
    expect(kv.tokensInUse).toBeLessThanOrEqual(16);
    expect(read(kv, 'a')).toHaveLength(8);
  });

  it('rejects chunks that do not continue a sequence', () => {
    const kv = make(100);
    expect(() => kv.prepare([{ seq: 'x', start: 3, length: 1 }])).toThrow(UnknownSequenceError);
    fill(kv, 'x', 1, 0, 3);
    expect(() => kv.prepare([{ seq: 'x', start: 5, length: 1 }])).toThrow(/holds 3 positions/);
  });

  it('gives memory back as sequences leave, and all of it when none is left', () => {
    const kv = make(1000);
    fill(kv, 'long', 1, 0, 30);
    for (const s of ['b', 'c', 'd']) fill(kv, s, 2, 0, 2);
    expect(kv.tokensInUse).toBe(4 * 32);
    kv.release('long');
    expect(kv.capacity).toBe(4);
    expect(read(kv, 'c')).toEqual([2000, 2001]);
    for (const s of ['b', 'c', 'd']) kv.release(s);
    expect([kv.tokensInUse, kv.keys.length]).toEqual([0, 0]);
  });

  it('a restart at position 0 reuses the slot and forgets the old positions', () => {
    const kv = make(100);
    fill(kv, 'a', 1, 0, 5);
    fill(kv, 'a', 7, 0, 2);
    expect(read(kv, 'a')).toEqual([7000, 7001]);
    expect(kv.sequenceCount).toBe(1);
  });

  it('evicts sequences idle too long', () => {
    const kv = make(100);
    fill(kv, 'a', 1, 0, 2);
    expect(kv.evictIdle(1000, Date.now() + 5000)).toEqual(['a']);
    expect(kv.sequenceCount).toBe(0);
  });
});
