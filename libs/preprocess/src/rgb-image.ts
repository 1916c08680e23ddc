/** 8-bit RGB, interleaved, row-major, no padding: the only pixel layout the preprocessing path works in. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export function newRgbImage(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3) };
}

/** Copies the rectangle (x0, y0, w, h), which must lie inside the image (PIL `crop` with an in-bounds box). */
export function cropRgb(img: RgbImage, x0: number, y0: number, w: number, h: number): RgbImage {
  const out = newRgbImage(w, h);
  const rowBytes = w * 3;
  for (let y = 0; y < h; y++) {
    const from = ((y0 + y) * img.width + x0) * 3;
    out.data.set(img.data.subarray(from, from + rowBytes), y * rowBytes);
  }
  return out;
}
