/** Public entry to Pillow-exact BICUBIC resizing: the SIMD kernels when the runtime has them, else the scalar port. */
import { RgbImage } from './rgb-image';
import { resizeBicubicScalar } from './resize-scalar';
import { resizeManyWasm } from './wasm/wasm-resize';

/** Same pixels as `PIL.Image.resize((outW, outH), Image.BICUBIC)` on an RGB image. */
export function resizeBicubic(img: RgbImage, outW: number, outH: number): RgbImage {
  return resizeBicubicMany(img, [[outW, outH]])[0];
}

/** Several sizes from one source; the source is copied into wasm memory once. */
export function resizeBicubicMany(img: RgbImage, targets: readonly (readonly [number, number])[]): RgbImage[] {
  return resizeManyWasm(img, targets) ?? targets.map(([w, h]) => resizeBicubicScalar(img, w, h));
}
