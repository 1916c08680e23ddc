/**
 * Pillow opens a GIF's first frame as mode P, so `convert('RGB')` shows the palette colour of the transparent index
 * (and of the area outside the frame, which Pillow fills with that index). sharp instead returns those pixels with
 * alpha 0 and black colour. We read the colour from the GIF blocks and paint it back.
 */
import { RgbImage } from './rgb-image';

/** Colour of the first frame's transparent index, or null when the first frame declares no transparency. */
export function gifTransparentColour(b: Uint8Array): [number, number, number] | null {
  if (b.length < 13) return null;
  const tableBytes = (packed: number) => (packed & 0x80 ? 3 << ((packed & 7) + 1) : 0);
  const globalAt = 13;
  const globalBytes = tableBytes(b[10]);
  let at = globalAt + globalBytes;
  let transparent = -1;
  while (at < b.length) {
    const block = b[at];
    if (block === 0x21) {
      const label = b[at + 1];
      if (label === 0xf9 && b[at + 2] === 4 && b[at + 3] & 1) transparent = b[at + 6];
      at += 2;
      // Sub-blocks: length byte, data, until a zero length.
      while (at < b.length && b[at] !== 0) at += b[at] + 1;
      at += 1;
    } else if (block === 0x2c) {
      if (transparent < 0 || at + 10 > b.length) return null;
      const localBytes = tableBytes(b[at + 9]);
      const [tableAt, size] = localBytes ? [at + 10, localBytes] : [globalAt, globalBytes];
      const i = tableAt + transparent * 3;
      // An index past the table reads Pillow's zero-padded palette: black.
      if (transparent * 3 + 3 > size || i + 3 > b.length) return [0, 0, 0];
      return [b[i], b[i + 1], b[i + 2]];
    } else {
      return null;
    }
  }
  return null;
}

/** Sets the colour of every pixel whose alpha (in an interleaved RGBA buffer) is 0. */
export function paintTransparent(img: RgbImage, rgba: Uint8Array, colour: readonly [number, number, number]): void {
  const n = img.width * img.height;
  for (let p = 0; p < n; p++) {
    if (rgba[p * 4 + 3] !== 0) continue;
    img.data[p * 3] = colour[0];
    img.data[p * 3 + 1] = colour[1];
    img.data[p * 3 + 2] = colour[2];
  }
}
