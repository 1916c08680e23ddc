/**
 * Port of Pillow's `ImagingResample` for 8-bit RGB with the BICUBIC filter, bit-exact, in plain TypeScript: the
 * readable form of what the WebAssembly kernels compute, and the fallback where WebAssembly SIMD is missing.
 */
import { AxisCoeffs, PRECISION_BITS } from './bicubic-coeffs';
import { RgbImage } from './rgb-image';
import { planResize } from './resize-plan';

/** Pillow starts every accumulator at one half, so `>> 22` rounds to nearest. */
const HALF = 1 << (PRECISION_BITS - 1);

export function resizeBicubicScalar(img: RgbImage, outW: number, outH: number): RgbImage {
  const plan = planResize(img.width, img.height, outW, outH);
  if (!plan.horiz && !plan.vert) return { width: img.width, height: img.height, data: img.data.slice() };
  let src = img;
  if (plan.horiz) src = horizontalPass(img, outW, plan.firstRow, plan.rows, plan.horiz);
  if (!plan.vert) return src;
  return verticalPass(src, outH, plan.horiz ? plan.firstRow : 0, plan.vert);
}

function horizontalPass(img: RgbImage, outW: number, firstRow: number, rows: number, c: AxisCoeffs): RgbImage {
  const inData = img.data;
  const inStride = img.width * 3;
  const out = new Uint8Array(outW * rows * 3);
  // A clamped view does Pillow's clip8 on store: negative becomes 0, above 255 becomes 255.
  const clamped = new Uint8ClampedArray(out.buffer);
  const { ksize, start, count, weights } = c;
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + firstRow) * inStride;
    for (let xx = 0; xx < outW; xx++) {
      const n = count[xx];
      let kOff = xx * ksize;
      let s = rowBase + start[xx] * 3;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let t = 0; t < n; t++, s += 3) {
        const k = weights[kOff++];
        r += inData[s] * k;
        g += inData[s + 1] * k;
        b += inData[s + 2] * k;
      }
      clamped[o] = r >> PRECISION_BITS;
      clamped[o + 1] = g >> PRECISION_BITS;
      clamped[o + 2] = b >> PRECISION_BITS;
      o += 3;
    }
  }
  return { width: outW, height: rows, data: out };
}

/**
 * Accumulates whole rows rather than one pixel at a time: sequential memory access, same integer sums. An Int32Array
 * accumulator wraps like C int arithmetic, and every final sum fits in 31 bits, so the result is exact.
 */
function verticalPass(img: RgbImage, outH: number, rowOffset: number, c: AxisCoeffs): RgbImage {
  const inData = img.data;
  const rowLen = img.width * 3;
  const out = new Uint8Array(rowLen * outH);
  const clamped = new Uint8ClampedArray(out.buffer);
  const acc = new Int32Array(rowLen);
  const { ksize, start, count, weights } = c;
  for (let yy = 0; yy < outH; yy++) {
    acc.fill(HALF);
    const n = count[yy];
    const kBase = yy * ksize;
    for (let t = 0; t < n; t++) {
      const k = weights[kBase + t];
      if (k === 0) continue;
      const s = (start[yy] - rowOffset + t) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += inData[s + i] * k;
    }
    const o = yy * rowLen;
    for (let i = 0; i < rowLen; i++) clamped[o + i] = acc[i] >> PRECISION_BITS;
  }
  return { width: img.width, height: outH, data: out };
}
