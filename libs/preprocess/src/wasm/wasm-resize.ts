/** Resizing inside a wasm arena: Pillow's pass plan from `planResize`, executed by the SIMD kernels. */
import { AxisCoeffs } from '../bicubic-coeffs';
import { RgbImage } from '../rgb-image';
import { planResize } from '../resize-plan';
import { WasmArena, withArena } from './arena';
import { kernelModule } from './kernels';

/** An RGB image stored in the arena. */
export interface ArenaImage {
  ptr: number;
  width: number;
  height: number;
}

/** Taps per output in the tables: even, so the horizontal kernel can always take two at a time. */
const tapStride = (c: AxisCoeffs): number => c.ksize + (c.ksize & 1);

export function copyIntoArena(arena: WasmArena, img: RgbImage): ArenaImage {
  const ptr = arena.alloc(img.data.length);
  arena.u8().set(img.data, ptr);
  return { ptr, width: img.width, height: img.height };
}

/** Returns `src` itself when neither dimension changes (Pillow copies; callers here only read). */
export function resizeInArena(arena: WasmArena, src: ArenaImage, outW: number, outH: number): ArenaImage {
  const plan = planResize(src.width, src.height, outW, outH);
  let cur = src;
  if (plan.horiz) {
    const tmp = arena.alloc(outW * plan.rows * 3);
    const t = writeTaps(arena, plan.horiz, (start) => start * 3, true);
    const rowBytes = src.width * 3;
    arena.kernels.hpass(src.ptr + plan.firstRow * rowBytes, rowBytes, plan.rows, tmp, outW,
      t.starts, t.counts, t.weights, tapStride(plan.horiz) * 16);
    cur = { ptr: tmp, width: outW, height: plan.rows };
  }
  if (plan.vert) {
    const rowLen = cur.width * 3;
    const dst = arena.alloc(rowLen * outH);
    const rowOffset = plan.horiz ? plan.firstRow : 0;
    const t = writeTaps(arena, plan.vert, (start) => (start - rowOffset) * rowLen, false);
    arena.kernels.vpass(cur.ptr, rowLen, dst, outH, t.starts, t.counts, t.weights, tapStride(plan.vert) * 16);
    cur = { ptr: dst, width: cur.width, height: outH };
  }
  return cur;
}

/**
 * Start offsets, tap counts and weights (each splatted to four lanes). Taps past a count, including the horizontal
 * kernel's padding tap, must carry weight 0, so the weight table is cleared first.
 */
function writeTaps(
  arena: WasmArena,
  c: AxisCoeffs,
  startOffset: (start: number) => number,
  evenCounts: boolean,
): { starts: number; counts: number; weights: number } {
  const outSize = c.start.length;
  const stride = tapStride(c);
  const starts = arena.alloc(outSize * 4);
  const counts = arena.alloc(outSize * 4);
  const weights = arena.alloc(outSize * stride * 16);
  const i32 = arena.i32();
  i32.fill(0, weights >> 2, (weights >> 2) + outSize * stride * 4);
  for (let i = 0; i < outSize; i++) {
    const n = c.count[i];
    i32[(starts >> 2) + i] = startOffset(c.start[i]);
    i32[(counts >> 2) + i] = evenCounts ? n + (n & 1) : n;
    for (let t = 0; t < n; t++) {
      const v = c.weights[i * c.ksize + t];
      const o = (weights >> 2) + (i * stride + t) * 4;
      i32[o] = v;
      i32[o + 1] = v;
      i32[o + 2] = v;
      i32[o + 3] = v;
    }
  }
  return { starts, counts, weights };
}

/** Several sizes from one source, copied into wasm memory once. Null without WebAssembly SIMD. */
export function resizeManyWasm(img: RgbImage, targets: readonly (readonly [number, number])[]): RgbImage[] | null {
  const mod = kernelModule();
  if (!mod) return null;
  const outBytes = targets.reduce((s, [w, h]) => s + Math.max(w, img.width) * Math.max(h, img.height) * 6, 0);
  return withArena(mod, img.data.length + outBytes, (arena) => {
    const src = copyIntoArena(arena, img);
    const results = targets.map(([w, h]) => resizeInArena(arena, src, w, h));
    const heap = arena.u8();
    return results.map((r) => ({
      width: r.width,
      height: r.height,
      data: heap.slice(r.ptr, r.ptr + r.width * r.height * 3),
    }));
  });
}
