/**
 * Pillow's `convert('RGB')` for the pixel layouts sharp hands back undecorated (no colour management, no alpha
 * flattening). Each function reproduces one Pillow path so that a decoded image equals `Image.open(f).convert('RGB')`.
 */
import { RgbImage, newRgbImage } from './rgb-image';

/** Pillow drops alpha and replicates gray: L, LA, RGB and RGBA all reach RGB without arithmetic. */
export function rgbFrom8bit(src: Uint8Array, width: number, height: number, channels: number): RgbImage {
  const out = newRgbImage(width, height);
  const dst = out.data;
  const n = width * height;
  if (channels === 3) {
    dst.set(src.subarray(0, n * 3));
    return out;
  }
  for (let i = 0, s = 0, d = 0; i < n; i++, s += channels, d += 3) {
    if (channels >= 3) {
      dst[d] = src[s];
      dst[d + 1] = src[s + 1];
      dst[d + 2] = src[s + 2];
    } else {
      const v = src[s];
      dst[d] = v;
      dst[d + 1] = v;
      dst[d + 2] = v;
    }
  }
  return out;
}

/**
 * Pillow opens 16-bit PNG/TIFF as follows: one gray channel becomes mode I and `convert('RGB')` clips values above
 * 255 to 255 (it does not scale); gray+alpha and RGB(A) unpack with the ";16B" raw modes, which keep the high byte.
 */
export function rgbFrom16bit(src: Uint16Array, width: number, height: number, channels: number): RgbImage {
  const out = newRgbImage(width, height);
  const dst = out.data;
  const n = width * height;
  for (let i = 0, s = 0, d = 0; i < n; i++, s += channels, d += 3) {
    if (channels === 1) {
      const v = src[s] > 255 ? 255 : src[s];
      dst[d] = v;
      dst[d + 1] = v;
      dst[d + 2] = v;
    } else if (channels === 2) {
      const v = src[s] >>> 8;
      dst[d] = v;
      dst[d + 1] = v;
      dst[d + 2] = v;
    } else {
      dst[d] = src[s] >>> 8;
      dst[d + 1] = src[s + 1] >>> 8;
      dst[d + 2] = src[s + 2] >>> 8;
    }
  }
  return out;
}

/**
 * Pillow's naive CMYK→RGB (no ICC): channel = clip(nk − nk·c/255) with nk = 255 − k and its rounded integer
 * division by 255, `((t >> 8) + t) >> 8` with t = a·b + 128. Verified bit-exact against Pillow 9.4 on random input.
 */
export function rgbFromCmyk(src: Uint8Array, width: number, height: number, channels = 4): RgbImage {
  const out = newRgbImage(width, height);
  const dst = out.data;
  const n = width * height;
  for (let i = 0, s = 0, d = 0; i < n; i++, s += channels, d += 3) {
    const nk = 255 - src[s + 3];
    for (let c = 0; c < 3; c++) {
      const t = src[s + c] * nk + 128;
      const v = nk - (((t >> 8) + t) >> 8);
      dst[d + c] = v < 0 ? 0 : v;
    }
  }
  return out;
}
