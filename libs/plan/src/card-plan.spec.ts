import { describe, expect, it } from 'vitest';
import { cardPlan } from './card-plan';
import { ringOrder } from './plan';

const ranges = (g: number, l = 36) => cardPlan(g, l).stages.map((s) => s.ranges);

describe('card plan (model card split_model)', () => {
  it('reproduces the reference tables for 1, 2, 4 and 8 devices on 36 layers', () => {
    expect(ranges(1)).toEqual([[[0, 36]]]);
    expect(ranges(2)).toEqual([[[0, 12], [35, 36]], [[12, 35]]]);
    expect(ranges(4)).toEqual([[[0, 6], [35, 36]], [[6, 17]], [[17, 28]], [[28, 35]]]);
    expect(ranges(8)).toEqual([[[0, 3], [35, 36]], [[3, 8]], [[8, 13]], [[13, 18]], [[18, 23]], [[23, 28]], [[28, 33]], [[33, 35]]]);
    const counts = (g: number) => cardPlan(g, 36).stages.map((s) => s.ranges.reduce((a, [x, y]) => a + y - x, 0));
    expect(counts(4)).toEqual([7, 11, 11, 7]);
    expect(counts(8)).toEqual([4, 5, 5, 5, 5, 5, 5, 2]);
  });

  it('runs the ring 0 → 1 → … → N-1 → 0 with the last layer back on stage 0', () => {
    expect(ringOrder(cardPlan(4, 36)).map((s) => s.stage)).toEqual([0, 1, 2, 3, 0]);
    expect(cardPlan(2, 36).stages[0]).toMatchObject({ vision: true, embed: true, head: true });
  });

  it('refuses a split that leaves a device without layers', () => {
    expect(() => cardPlan(4, 8)).toThrow(/leaves device 3 without layers/);
    expect(ranges(4, 12)).toEqual([[[0, 2], [11, 12]], [[2, 6]], [[6, 10]], [[10, 11]]]);
  });
});
