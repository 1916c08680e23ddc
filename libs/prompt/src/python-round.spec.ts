import { describe, expect, it } from 'vitest';
import { pythonRound } from './python-round';

describe('pythonRound', () => {
  it('rounds halves to even as Python does', () => {
    // Python: [round(x) for x in ...]
    const xs = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 2.675, 1e16 + 2, -3.7, 3.5000000000000004];
    expect(xs.map(pythonRound)).toEqual([0, 2, 2, 0, -2, -2, 0, 3, 10000000000000002, -4, 4]);
  });

  it('differs from Math.round exactly on ties', () => {
    expect(Math.round(2.5)).toBe(3);
    expect(pythonRound(2.5)).toBe(2);
    expect(Object.is(pythonRound(-0.4), 0)).toBe(true);
  });

  it('rejects non-finite input like Python', () => {
    expect(() => pythonRound(Number.NaN)).toThrow(RangeError);
    expect(() => pythonRound(Infinity)).toThrow(RangeError);
  });
});
