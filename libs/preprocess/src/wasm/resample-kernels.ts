/**
 * The two passes of Pillow's 8-bit resampling as WebAssembly SIMD kernels. The integer arithmetic is the same as the
 * scalar port (i32 products and sums, start value 2²¹, arithmetic shift by 22, clamp to 0..255), four lanes at a
 * time, so the output is bit-identical; only the speed differs.
 *
 * Both kernels may read up to 15 bytes past the end of their input and write up to 15 bytes past the end of their
 * output; the caller pads every buffer in wasm memory by 16 bytes.
 */
import { FunctionBuilder, I32, SIMD, V128 } from './wasm-assembler';

const SHIFT = 22;
const HALF = 1 << (SHIFT - 1);

/**
 * hpass(src, srcStride, rows, dst, outW, startPtr, countPtr, weightPtr, weightStride)
 * For each of `rows` rows and each output x: Σ src[start + 3t .. +3] · w[t] over the taps, RGB in lanes 0–2.
 * startPtr: i32 byte offset of the first tap within a row; countPtr: i32 tap count rounded up to even (the extra
 * tap has weight 0); weightPtr: one i32x4 splat per tap, `weightStride` bytes per output x.
 * Taps go in pairs into two accumulators: integer addition is associative, so the sum is unchanged.
 */
export function horizontalKernel(): FunctionBuilder {
  const [src, srcStride, rows, dst, outW, startPtr, countPtr, weightPtr, weightStride] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const y = f.local(I32);
  const x = f.local(I32);
  const sp = f.local(I32);
  const cp = f.local(I32);
  const wp = f.local(I32);
  const p = f.local(I32);
  const kp = f.local(I32);
  const n = f.local(I32);
  const acc = f.local(V128);
  const acc2 = f.local(V128);
  const tmp = f.local(V128);
  const tap = (into: number, pixelOffset: number, weightOffset: number): void => {
    // into += widen(4 bytes at p) · w: the fourth lane belongs to the next pixel and is never stored.
    f.get(into);
    f.get(p).v128Load32Zero(pixelOffset).simd(SIMD.i16x8ExtendLowI8x16U).simd(SIMD.i32x4ExtendLowI16x8U);
    f.get(kp).v128Load(weightOffset).simd(SIMD.i32x4Mul).simd(SIMD.i32x4Add).set(into);
  };

  f.i32(0).set(y);
  f.doWhile(
    () => {
      f.get(startPtr).set(sp).get(countPtr).set(cp).get(weightPtr).set(wp).i32(0).set(x);
      f.doWhile(
        () => {
          f.i32x4Const(HALF).set(acc);
          f.i32x4Const(0).set(acc2);
          f.get(src).get(sp).load().add().set(p);
          f.get(cp).load().set(n);
          f.get(wp).set(kp);
          f.doWhile(
            () => {
              tap(acc, 0, 0);
              tap(acc2, 3, 16);
              f.inc(p, 6).inc(kp, 32).inc(n, -2);
            },
            () => f.get(n),
          );
          f.get(acc).get(acc2).simd(SIMD.i32x4Add).set(acc);
          storePixel(f, acc, dst, tmp);
          f.inc(dst, 3).inc(sp, 4).inc(cp, 4).incBy(wp, weightStride).inc(x, 1);
        },
        () => f.get(x).get(outW).ltU(),
      );
      f.incBy(src, srcStride).inc(y, 1);
    },
    () => f.get(y).get(rows).ltU(),
  );
  return f;
}

/**
 * vpass(src, rowLen, dst, outH, startPtr, countPtr, weightPtr, weightStride)
 * For each output row: Σ over count taps of src row (start + t) · w[t], 16 bytes per step across the row.
 * startPtr: i32 byte offset of the first tap row from src; weights as in hpass.
 */
export function verticalKernel(): FunctionBuilder {
  const [src, rowLen, dst, outH, startPtr, countPtr, weightPtr, weightStride] = [0, 1, 2, 3, 4, 5, 6, 7];
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32]);
  const y = f.local(I32);
  const i = f.local(I32);
  const base = f.local(I32);
  const n0 = f.local(I32);
  const p = f.local(I32);
  const kp = f.local(I32);
  const n = f.local(I32);
  const a = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const v = f.local(V128);
  const k = f.local(V128);

  f.i32(0).set(y);
  f.doWhile(
    () => {
      f.get(src).get(startPtr).load().add().set(base);
      f.get(countPtr).load().set(n0);
      f.i32(0).set(i);
      f.doWhile(
        () => {
          for (const acc of a) f.i32x4Const(HALF).set(acc);
          f.get(base).get(i).add().set(p);
          f.get(weightPtr).set(kp);
          f.get(n0).set(n);
          f.doWhile(
            () => {
              f.get(p).v128Load().set(v);
              f.get(kp).v128Load().set(k);
              const widen = [
                [SIMD.i16x8ExtendLowI8x16U, SIMD.i32x4ExtendLowI16x8U],
                [SIMD.i16x8ExtendLowI8x16U, SIMD.i32x4ExtendHighI16x8U],
                [SIMD.i16x8ExtendHighI8x16U, SIMD.i32x4ExtendLowI16x8U],
                [SIMD.i16x8ExtendHighI8x16U, SIMD.i32x4ExtendHighI16x8U],
              ];
              widen.forEach(([to16, to32], q) => {
                f.get(a[q]).get(v).simd(to16).simd(to32).get(k).simd(SIMD.i32x4Mul).simd(SIMD.i32x4Add).set(a[q]);
              });
              f.incBy(p, rowLen).inc(kp, 16).inc(n, -1);
            },
            () => f.get(n),
          );
          // Shift, then two saturating narrows: i32 → i16 (signed) → u8 is exactly clamp(·, 0, 255).
          f.get(dst).get(i).add();
          f.get(a[0]).i32(SHIFT).simd(SIMD.i32x4ShrS).get(a[1]).i32(SHIFT).simd(SIMD.i32x4ShrS);
          f.simd(SIMD.i16x8NarrowI32x4S);
          f.get(a[2]).i32(SHIFT).simd(SIMD.i32x4ShrS).get(a[3]).i32(SHIFT).simd(SIMD.i32x4ShrS);
          f.simd(SIMD.i16x8NarrowI32x4S);
          f.simd(SIMD.i8x16NarrowI16x8U).v128Store();
          f.inc(i, 16);
        },
        () => f.get(i).get(rowLen).ltU(),
      );
      f.incBy(dst, rowLen).inc(startPtr, 4).inc(countPtr, 4).incBy(weightPtr, weightStride).inc(y, 1);
    },
    () => f.get(y).get(outH).ltU(),
  );
  return f;
}

/** Stores clamp(acc >> 22) of lanes 0–3 as four bytes: one RGB pixel plus a scratch byte the next store overwrites. */
function storePixel(f: FunctionBuilder, acc: number, dst: number, tmp: number): void {
  f.get(dst);
  f.get(acc).i32(SHIFT).simd(SIMD.i32x4ShrS).tee(tmp).get(tmp).simd(SIMD.i16x8NarrowI32x4S);
  f.tee(tmp).get(tmp).simd(SIMD.i8x16NarrowI16x8U).v128Store32Lane(0);
}
