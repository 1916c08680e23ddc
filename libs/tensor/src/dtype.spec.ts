import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, f32ToF16Bits } from './dtype';

describe('dtype conversions', () => {
  it('bf16 round trip is exact for bf16-representable values and rounds half to even', () => {
    const v = new Float32Array([1, -2.5, 3.140625, 0, -0, 65280]);
    expect(Array.from(bf16ToF32(f32ToBf16(v)))).toEqual(Array.from(v));
    // 1 + 2^-8 lies exactly between two bf16 values (1 and 1+2^-7): ties go to the even mantissa (1).
    expect(bf16ToF32(f32ToBf16(new Float32Array([1 + 2 ** -8])))[0]).toBe(1);
    expect(bf16ToF32(f32ToBf16(new Float32Array([1 + 3 * 2 ** -8])))[0]).toBe(1 + 2 ** -6);
  });

  it('fp16 matches IEEE binary16 on known bit patterns', () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // tie to even -> zero
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002);
    expect(Number.isNaN(f16ToF32(new Uint16Array([f32ToF16Bits(NaN)]))[0])).toBe(true);
    const xs = new Float32Array([0.1, -1234.5, 3e-5, 7.62939453125e-6]);
    const back = f16ToF32(f32ToF16(xs));
    xs.forEach((x, i) => expect(Math.abs(back[i] - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25));
  });
});
