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

/**
 * The model card's split_model written out as the card has it (a layer → GPU map), independently of cardPlan:
 * per_gpu = ceil(L / (G − 0.5)), GPU 0 gets ceil(per_gpu · 0.5), the rest per_gpu each in order, the last layer on 0.
 */
function splitModelMap(L: number, G: number): number[] {
  const perGpu = Math.ceil(L / (G - 0.5));
  const counts = Array.from({ length: G }, () => perGpu);
  counts[0] = Math.ceil(perGpu * 0.5);
  const map: number[] = [];
  let layer = 0;
  counts.forEach((n, gpu) => {
    for (let j = 0; j < n; j++) map[layer++] = gpu;
  });
  map.length = L;
  map[L - 1] = 0;
  return map;
}

describe('card plan for every size of the family', () => {
  // Layer counts of InternVL2.5-1B/2B (24), 8B (32), 4B (36), 26B (48), 38B (64), 78B (80).
  it.each([24, 32, 36, 48, 64, 80])('matches split_model for G = 1..8 on %i layers', (L) => {
    for (let G = 1; G <= 8; G++) {
      const map = splitModelMap(L, G);
      const empty = Array.from({ length: G }, (_, g) => g).filter((g) => g > 0 && !map.includes(g));
      if (empty.length) {
        expect(() => cardPlan(G, L), `card:${G} on ${L}`).toThrow(new RegExp(`leaves device ${empty[0]} without layers`));
        continue;
      }
      const plan = cardPlan(G, L);
      const owner: number[] = [];
      plan.stages.forEach((s) => s.ranges.forEach(([a, b]) => { for (let l = a; l < b; l++) owner[l] = s.stage; }));
      expect(owner, `card:${G} on ${L}`).toEqual(map);
      expect(plan.stages[0].ranges.at(-1)![1]).toBe(L);
    }
  });
});
