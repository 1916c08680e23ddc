import { describe, expect, it } from 'vitest';
import { rgbFrom16bit, rgbFrom8bit, rgbFromCmyk } from './pil-convert';

describe("Pillow's convert('RGB') rules", () => {
  it('replicates gray and drops alpha for 8-bit L, LA and RGBA', () => {
    expect(Array.from(rgbFrom8bit(Uint8Array.from([7, 200]), 2, 1, 1).data)).toEqual([7, 7, 7, 200, 200, 200]);
    expect(Array.from(rgbFrom8bit(Uint8Array.from([7, 0, 9, 255]), 2, 1, 2).data)).toEqual([7, 7, 7, 9, 9, 9]);
    expect(Array.from(rgbFrom8bit(Uint8Array.from([1, 2, 3, 0]), 1, 1, 4).data)).toEqual([1, 2, 3]);
  });

  it('16-bit: mode I gray clips at 255, the other layouts keep the high byte', () => {
    expect(Array.from(rgbFrom16bit(Uint16Array.from([254, 255, 256, 65535]), 4, 1, 1).data)).toEqual([
      254, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    ]);
    expect(Array.from(rgbFrom16bit(Uint16Array.from([0x12ff, 0x0001]), 1, 1, 2).data)).toEqual([0x12, 0x12, 0x12]);
    expect(Array.from(rgbFrom16bit(Uint16Array.from([0xabff, 0x00ff, 0xff00, 7]), 1, 1, 4).data)).toEqual([
      0xab, 0x00, 0xff,
    ]);
  });

  it('CMYK: nk − nk·c/255 with Pillow rounding, no colour management', () => {
    const px = (c: number, m: number, y: number, k: number) =>
      Array.from(rgbFromCmyk(Uint8Array.from([c, m, y, k]), 1, 1).data);
    expect(px(0, 0, 0, 0)).toEqual([255, 255, 255]);
    expect(px(255, 255, 255, 0)).toEqual([0, 0, 0]);
    expect(px(0, 0, 0, 255)).toEqual([0, 0, 0]);
    // nk = 155; 100·155 = 15500 → (15500 + 128) ⇒ 61; 155 − 61 = 94. The naive 255 − (c + k) would give 55.
    expect(px(100, 0, 255, 100)).toEqual([94, 155, 0]);
  });
});
