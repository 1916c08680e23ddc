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

  describe('fork (prefix cache)', () => {
    it('a new sequence starts as a copy of the first positions of another, which keeps its own', () => {
      const kv = make(1000);
      fill(kv, 'src', 1, 0, 7);
      fill(kv, 'other', 2, 0, 3);
      const win = kv.prepare([{ seq: 'new', start: 5, length: 2, from: 'src' }]);
      expect(kv.get('new')!.length).toBe(5);
      // The copied positions, in both layers, keys and values.
      const s = kv.get('new')!;
      for (let l = 0; l < 2; l++) {
        const base = s.slot * kv.slotSize;
        expect(Array.from({ length: 5 }, (_, p) => kv.keys[l][base + p * 2])).toEqual([1000, 1001, 1002, 1003, 1004]);
        expect(Array.from({ length: 5 }, (_, p) => kv.values[l][base + p * 2 + 1])).toEqual([-1000, -1001, -1002, -1003, -1004]);
      }
      const k = new Float32Array(4).map((_, i) => 9000 + 5 + Math.floor(i / 2));
      for (let l = 0; l < 2; l++) kv.write(l, 'new', 5, 2, win.rowOf[0], k, k.map((x) => -x));
      kv.commit('new', 7);
      expect(read(kv, 'new')).toEqual([1000, 1001, 1002, 1003, 1004, 9005, 9006]);
      expect(read(kv, 'src')).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006]);
      expect(read(kv, 'other')).toEqual([2000, 2001, 2002]);
    });

    it('forks next to decode rows of the source itself, growing the buffers first', () => {
      const kv = make(1000);
      fill(kv, 'src', 1, 0, 4);
      // Capacity 4 is full: the batch needs 6 for the fork, so the buffers are re-laid before the copy.
      kv.prepare([
        { seq: 'src', start: 4, length: 1 },
        { seq: 'new', start: 4, length: 2, from: 'src' },
      ]);
      expect(kv.capacity).toBe(8);
      const s = kv.get('new')!;
      expect(Array.from({ length: 4 }, (_, p) => kv.keys[1][s.slot * kv.slotSize + p * 2])).toEqual([1000, 1001, 1002, 1003]);
    });

    it('the source counts as used (idle eviction spares a prefix in use)', () => {
      const kv = make(1000);
      fill(kv, 'src', 1, 0, 4);
      kv.get('src')!.lastUsed = 0;
      kv.prepare([{ seq: 'new', start: 2, length: 1, from: 'src' }]);
      expect(kv.evictIdle(60_000)).toEqual([]);
    });

    it('an unknown or too short source is refused and nothing changes', () => {
      const kv = make(1000);
      fill(kv, 'src', 1, 0, 3);
      const before = [kv.slots, kv.capacity, kv.sequenceCount];
      expect(() => kv.prepare([{ seq: 'new', start: 2, length: 1, from: 'gone' }])).toThrow(UnknownSequenceError);
      expect(() => kv.prepare([{ seq: 'new', start: 4, length: 1, from: 'src' }])).toThrow(/holds 3 positions, sequence new needs 4/);
      expect([kv.slots, kv.capacity, kv.sequenceCount]).toEqual(before);
      expect(kv.get('new')).toBeUndefined();
    });

    it('honours the budget: a fork takes a slot, and is refused with nothing changed when that does not fit', () => {
      const kv = make(16);
      fill(kv, 'src', 1, 0, 8);
      expect(() => kv.prepare([{ seq: 'new', start: 8, length: 1, from: 'src' }])).toThrow(KvBudgetError); // 2 × 9 > 16
      expect([kv.sequenceCount, kv.get('new')]).toEqual([1, undefined]);
      expect(read(kv, 'src')).toHaveLength(8);
      kv.prepare([{ seq: 'new', start: 7, length: 1, from: 'src' }]); // 2 × 8 = 16
      expect(kv.tokensInUse).toBeLessThanOrEqual(16);
      expect(kv.get('new')!.length).toBe(7);
    });
  });
});
