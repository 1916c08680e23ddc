import { describe, expect, it } from 'vitest';
import { NORMALIZE_LUT, normalizeTiles } from './normalize';
import { RgbImage } from './rgb-image';
import { TILE_SIZE } from './tile-plan';
import { loadManifest } from './testing/fixtures';
import { tileTensorWasm } from './wasm/wasm-tiles';

describe('normalisation (ToTensor + Normalize in float32)', () => {
  it('matches numpy float32 arithmetic ((u8 / 255) − mean) / std for all 256 values of each channel', () => {
    const expected = loadManifest().normalizeLut;
    for (let c = 0; c < 3; c++) {
      const want = Float32Array.from(expected[c]);
      expect(Array.from(NORMALIZE_LUT[c])).toEqual(Array.from(want));
    }
    expect(NORMALIZE_LUT[0][0]).toBeCloseTo(-2.1179, 4);
    expect(NORMALIZE_LUT[2][255]).toBeCloseTo(2.64, 2);
  });

  it('lays tiles out as [T, 3, H, W] with planes R, G, B', () => {
    const tile: RgbImage = { width: 2, height: 1, data: Uint8Array.from([0, 1, 2, 253, 254, 255]) };
    const out = normalizeTiles([tile, tile]);
    const L = NORMALIZE_LUT;
    const one = [L[0][0], L[0][253], L[1][1], L[1][254], L[2][2], L[2][255]];
    expect(Array.from(out)).toEqual([...one, ...one]);
  });

  it('the SIMD kernel produces the same float32 bits as the lookup table', () => {
    const img: RgbImage = { width: TILE_SIZE, height: TILE_SIZE, data: new Uint8Array(TILE_SIZE * TILE_SIZE * 3) };
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 7 + (i >> 9)) & 255;
    const simd = tileTensorWasm(img, { cols: 1, rows: 1, numTiles: 1 });
    expect(simd).not.toBeNull();
    const ref = normalizeTiles([img]);
    expect(Buffer.from(simd!.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
  });
});
