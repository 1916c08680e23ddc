/**
 * Filter taps for Pillow's 8-bit BICUBIC resampling along one axis (reference doc section 6.5). Every floating-point
 * expression keeps Pillow's operand order, because the taps are rounded to 22-bit integers and a one-ulp difference
 * in a weight can move a pixel by one level.
 */

/** Pillow's PRECISION_BITS for 8-bit images: 32 − 8 − 2, leaving room for negative lobes and overshoot. */
export const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;

/** Keys cubic with a = −0.5 and support 2, written as Pillow evaluates it. */
export function bicubicKernel(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

export interface AxisCoeffs {
  /** Taps per output index, fixed stride (Pillow's ksize); unused taps are 0. */
  ksize: number;
  /** First input index read by output i. */
  start: Int32Array;
  /** Number of input indices read by output i. */
  count: Int32Array;
  /** Fixed-point weights, `ksize` per output index. */
  weights: Int32Array;
}

export function computeAxisCoeffs(inSize: number, outSize: number): AxisCoeffs {
  const scale = inSize / outSize;
  // Downscaling widens the kernel so that it also low-pass filters (antialiasing); upscaling keeps support 2.
  const filterscale = scale < 1 ? 1 : scale;
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const ss = 1 / filterscale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);

  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C `(int)` truncates toward zero; the clamp to 0 comes after, as in Pillow.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    const n = xmax - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      const v = bicubicKernel((x + xmin - center + 0.5) * ss);
      w[x] = v;
      sum += v;
    }
    const base = xx * ksize;
    for (let x = 0; x < n; x++) {
      const k = sum !== 0 ? w[x] / sum : w[x];
      // Round half away from zero via C truncation of k·2²² ± 0.5.
      weights[base + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    start[xx] = xmin;
    count[xx] = n;
  }
  return { ksize, start, count, weights };
}
