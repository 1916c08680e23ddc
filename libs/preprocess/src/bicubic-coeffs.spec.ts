import { describe, expect, it } from 'vitest';
import { PRECISION_BITS, bicubicKernel, computeAxisCoeffs } from './bicubic-coeffs';

describe('bicubicKernel (Keys, a = −0.5)', () => {
  it('has the interpolating shape: 1 at 0, 0 at the integers, negative lobe between 1 and 2', () => {
    expect([0, 1, 2, 3, -1, -2].map((x) => bicubicKernel(x) + 0)).toEqual([1, 0, 0, 0, 0, 0]);
    expect(bicubicKernel(0.5)).toBe(0.5625);
    expect(bicubicKernel(-0.5)).toBe(0.5625);
    expect(bicubicKernel(1.5)).toBe(-0.0625);
  });
});

describe('computeAxisCoeffs', () => {
  const one = 1 << PRECISION_BITS;

  it('2× upscale: support 2, four taps clamped at the borders, phases ±¼', () => {
    const c = computeAxisCoeffs(4, 8);
    expect(c.ksize).toBe(5);
    // Output 0: center 0.25, xmin = trunc(−1.25) = −1 → 0, xmax = trunc(2.75) = 2.
    expect([c.start[0], c.count[0]]).toEqual([0, 2]);
    // Output 3: center 1.75, taps 0..3.
    expect([c.start[3], c.count[3]]).toEqual([0, 4]);
    // Weights at distances 1.25, 0.25, 0.75, 1.75 sum to 1 after normalisation and quantisation (±2 units).
    const w = Array.from(c.weights.subarray(3 * c.ksize, 3 * c.ksize + 4));
    expect(Math.abs(w.reduce((s, v) => s + v, 0) - one)).toBeLessThanOrEqual(2);
    expect(w[0]).toBeLessThan(0);
    expect(w[3]).toBeLessThan(0);
  });

  it('downscale by 4 widens the support to 8 and every output reads at most 17 inputs', () => {
    const c = computeAxisCoeffs(1920, 480);
    expect(c.ksize).toBe(17);
    for (let i = 0; i < 480; i++) {
      expect(c.count[i]).toBeLessThanOrEqual(17);
      expect(c.start[i] + c.count[i]).toBeLessThanOrEqual(1920);
      const sum = c.weights.subarray(i * 17, i * 17 + c.count[i]).reduce((s, v) => s + v, 0);
      expect(Math.abs(sum - one)).toBeLessThanOrEqual(c.count[i]);
    }
  });

  it('same size keeps the identity weights (Pillow skips such a pass, but the rows still bound it)', () => {
    const c = computeAxisCoeffs(10, 10);
    for (let i = 0; i < 10; i++) {
      const taps = Array.from(c.weights.subarray(i * c.ksize, i * c.ksize + c.count[i]));
      expect(taps.filter((v) => v !== 0)).toEqual([one]);
    }
  });
});
