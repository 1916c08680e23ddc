import { describe, expect, it } from 'vitest';
import { decodeImage } from './decode-image';
import { imageToTensor, loadImage } from './load-image';
import { NORMALIZE_LUT, normalizeTiles } from './normalize';
import { resizeBicubicScalar } from './resize-scalar';
import { cropRgb } from './rgb-image';
import { TILE_SIZE } from './tile-plan';
import { expectedTiles, fixtureBytes, loadManifest } from './testing/fixtures';

const PLANE = TILE_SIZE * TILE_SIZE;

describe('loadImage (card load_image)', () => {
  it('gives [T, 3, 448, 448] equal to normalising Pillow tiles with the float32 lookup table', async () => {
    const c = loadManifest().cases.find((x) => x.source === 'rgb-800x600.png' && x.maxNum === 12)!;
    const out = await loadImage(fixtureBytes('sources', c.source));
    expect({ numTiles: out.numTiles, cols: out.cols, rows: out.rows, width: out.width, height: out.height }).toEqual({
      numTiles: 13,
      cols: 4,
      rows: 3,
      width: 800,
      height: 600,
    });
    expect(out.pixelValues.length).toBe(13 * 3 * PLANE);
    const pil = await expectedTiles(c);
    // Tile 7, channel G, row 100, column 200: an arbitrary spot, read from Pillow's bytes.
    const u = pil[(7 * PLANE + 100 * TILE_SIZE + 200) * 3 + 1];
    expect(out.pixelValues[7 * 3 * PLANE + PLANE + 100 * TILE_SIZE + 200]).toBe(NORMALIZE_LUT[1][u]);
    // And everywhere: the same bits as normalising Pillow's tiles.
    const tiles = Array.from({ length: 13 }, (_, k) => ({
      width: TILE_SIZE,
      height: TILE_SIZE,
      data: pil.subarray(k * PLANE * 3, (k + 1) * PLANE * 3),
    }));
    expect(Buffer.from(out.pixelValues.buffer).equals(Buffer.from(normalizeTiles(tiles).buffer))).toBe(true);
  });

  it('honours maxNum per call and passes limits to the decoder', async () => {
    const bytes = fixtureBytes('sources', 'photo-1920x1080.jpg');
    const six = await loadImage(bytes, { maxNum: 6 });
    expect([six.cols, six.rows, six.numTiles, six.pixelValues.length]).toEqual([2, 1, 3, 3 * 3 * PLANE]);
    await expect(loadImage(bytes, { limits: { maxPixels: 1000 } })).rejects.toMatchObject({ code: 'too_many_pixels' });
  });

  it('writes into a caller buffer when given one, and refuses one that is too small', async () => {
    const bytes = fixtureBytes('sources', 'rgb-800x600.png');
    const fresh = await loadImage(bytes);
    const out = new Float32Array(13 * 3 * PLANE + 5).fill(7);
    const reused = await loadImage(bytes, { out });
    expect(reused.pixelValues.buffer).toBe(out.buffer);
    expect(reused.pixelValues.length).toBe(13 * 3 * PLANE);
    expect(Buffer.from(reused.pixelValues.slice().buffer).equals(Buffer.from(fresh.pixelValues.buffer))).toBe(true);
    expect(out[13 * 3 * PLANE]).toBe(7);
    await expect(loadImage(bytes, { out: new Float32Array(100) })).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('the SIMD path equals the scalar port with the lookup-table normaliser', async () => {
    const img = await decodeImage(fixtureBytes('sources', 'palette-4000x100.png'));
    const fast = imageToTensor(img);
    expect([fast.cols, fast.rows, fast.numTiles]).toEqual([12, 1, 13]);
    const grid = resizeBicubicScalar(img, 12 * TILE_SIZE, TILE_SIZE);
    const tiles = Array.from({ length: 12 }, (_, k) => cropRgb(grid, k * TILE_SIZE, 0, TILE_SIZE, TILE_SIZE));
    tiles.push(resizeBicubicScalar(img, TILE_SIZE, TILE_SIZE));
    const slow = normalizeTiles(tiles);
    expect(Buffer.from(fast.pixelValues.buffer).equals(Buffer.from(slow.buffer))).toBe(true);
  });

  it('handles extreme shapes (1 pixel, 1-pixel-wide strips) identically on both paths', () => {
    const shapes: [number, number][] = [[1, 1], [1, 5000], [5000, 1], [3, 2], [449, 1]];
    for (const [w, h] of shapes) {
      const data = new Uint8Array(w * h * 3).map((_, i) => (i * 97) & 255);
      const img = { width: w, height: h, data };
      const fast = imageToTensor(img);
      const grid = resizeBicubicScalar(img, fast.cols * TILE_SIZE, fast.rows * TILE_SIZE);
      const tiles = Array.from({ length: fast.cols * fast.rows }, (_, k) =>
        cropRgb(grid, (k % fast.cols) * TILE_SIZE, Math.floor(k / fast.cols) * TILE_SIZE, TILE_SIZE, TILE_SIZE),
      );
      if (fast.numTiles > tiles.length) tiles.push(resizeBicubicScalar(img, TILE_SIZE, TILE_SIZE));
      const slow = normalizeTiles(tiles);
      expect(Buffer.from(fast.pixelValues.buffer).equals(Buffer.from(slow.buffer)), `${w}x${h}`).toBe(true);
    }
  });
});
