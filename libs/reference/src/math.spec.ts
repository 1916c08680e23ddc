import { describe, expect, it } from 'vitest';
import { erf, gelu } from './math';

describe('reference math', () => {
  it('erf matches known values to 1e-14', () => {
    const known: Array<[number, number]> = [
      [0, 0],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [-1.5, -0.9661051464753108],
    ];
    for (const [x, y] of known) expect(Math.abs(erf(x) - y)).toBeLessThan(1e-14);
  });
  it('gelu is the exact erf form', () => {
    expect(gelu(1)).toBeCloseTo(0.8413447460685429, 14);
    expect(gelu(-3)).toBeCloseTo(-0.0040496940948903, 12);
  });
});
