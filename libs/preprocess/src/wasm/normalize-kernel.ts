/**
 * tile_chw(src, srcStride, dst, size): one size×size RGB tile (row stride srcStride bytes) into three float32 planes
 * at dst, each value `((u8 / 255) − mean) / std` with every operation in IEEE float32, which is torchvision's
 * `ToTensor` + `Normalize` arithmetic. Four pixels per step; reads up to 4 bytes past each source row.
 */
import { IMAGENET_MEAN, IMAGENET_STD } from '../normalize';
import { FunctionBuilder, I32, SIMD, V128 } from './wasm-assembler';

export function tileChwKernel(): FunctionBuilder {
  const [src, srcStride, dst, size] = [0, 1, 2, 3];
  const f = new FunctionBuilder([I32, I32, I32, I32]);
  const y = f.local(I32);
  const x = f.local(I32);
  const p = f.local(I32);
  const plane = f.local(I32);
  const d = [f.local(I32), f.local(I32), f.local(I32)];
  const v = f.local(V128);

  f.get(size).get(size).mul().i32(4).mul().set(plane);
  f.get(dst).set(d[0]);
  f.get(d[0]).get(plane).add().set(d[1]);
  f.get(d[1]).get(plane).add().set(d[2]);
  f.i32(0).set(y);
  f.doWhile(
    () => {
      f.get(src).set(p).i32(0).set(x);
      f.doWhile(
        () => {
          f.get(p).v128Load().set(v);
          for (let c = 0; c < 3; c++) {
            // Bytes c, c+3, c+6, c+9 (one channel of four pixels) into the low byte of each i32 lane, zeros above.
            const Z = 16;
            const lanes = [c, Z, Z, Z, c + 3, Z, Z, Z, c + 6, Z, Z, Z, c + 9, Z, Z, Z];
            f.get(d[c]);
            f.get(v).i32x4Const(0).shuffle(lanes).simd(SIMD.f32x4ConvertI32x4U);
            f.f32x4Const(255).simd(SIMD.f32x4Div);
            f.f32x4Const(IMAGENET_MEAN[c]).simd(SIMD.f32x4Sub);
            f.f32x4Const(IMAGENET_STD[c]).simd(SIMD.f32x4Div);
            f.v128Store();
            f.inc(d[c], 16);
          }
          f.inc(p, 12).inc(x, 4);
        },
        () => f.get(x).get(size).ltU(),
      );
      f.incBy(src, srcStride).inc(y, 1);
    },
    () => f.get(y).get(size).ltU(),
  );
  return f;
}
