import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from './decode-image';
import { dynamicPreprocess } from './dynamic-preprocess';
import { resizeBicubic } from './resize-bicubic';
import { TILE_SIZE } from './tile-plan';
import { expectedImage, expectedTiles, fixtureBytes, loadManifest, maxAbsDiff } from './testing/fixtures';

const TILE_BYTES = TILE_SIZE * TILE_SIZE * 3;

describe('dynamicPreprocess against Pillow (tools/fixtures/make_pil_fixtures.py)', () => {
  const manifest = loadManifest();
  const report: string[] = [];
  afterAll(() => {
    console.log(`Tiles vs Pillow ${manifest.pillow}, max |ours − PIL| per channel value:\n${report.join('\n')}`);
  });

  it.each(manifest.cases.map((c) => [`${c.source} max_num=${c.maxNum}`, c] as const))('%s', async (_, c) => {
    const img = await decodeImage(fixtureBytes('sources', c.source));
    const out = dynamicPreprocess(img, { maxNum: c.maxNum });
    expect({ cols: out.cols, rows: out.rows, numTiles: out.numTiles }).toEqual({
      cols: c.cols,
      rows: c.rows,
      numTiles: c.numTiles,
    });
    expect(out.tiles).toHaveLength(c.numTiles);
    const expected = await expectedTiles(c);
    expect(expected.length).toBe(c.numTiles * TILE_BYTES);
    let worst = 0;
    out.tiles.forEach((t, k) => {
      expect([t.width, t.height]).toEqual([TILE_SIZE, TILE_SIZE]);
      const diff = maxAbsDiff(t.data, expected.subarray(k * TILE_BYTES, (k + 1) * TILE_BYTES));
      worst = Math.max(worst, diff);
      expect(diff, `tile ${k}`).toBeLessThanOrEqual(1);
    });
    let line = `  ${c.source.padEnd(24)} max_num ${String(c.maxNum).padStart(2)}: grid ${c.cols}x${c.rows}, ` +
      `${c.numTiles} tiles, max diff ${worst}`;
    if (c.decoded) {
      // Resampling alone, from Pillow's own decode: must be exact whatever the JPEG decoders do.
      const pil = await expectedImage(c.decoded);
      const fromPil = dynamicPreprocess(pil, { maxNum: c.maxNum });
      const exact = fromPil.tiles.every(
        (t, k) => maxAbsDiff(t.data, expected.subarray(k * TILE_BYTES, (k + 1) * TILE_BYTES)) === 0,
      );
      expect(exact).toBe(true);
      line += ' (from PIL decode: 0)';
    } else {
      // No decoder question for lossless sources: bit-exact.
      expect(worst).toBe(0);
    }
    report.push(line);
  });

  it('appends the thumbnail last, resized from the original image, not from the grid image', async () => {
    const img = await decodeImage(fixtureBytes('sources', 'rgb-800x600.png'));
    const out = dynamicPreprocess(img);
    const thumb = out.tiles[out.tiles.length - 1];
    expect(maxAbsDiff(thumb.data, resizeBicubic(img, TILE_SIZE, TILE_SIZE).data)).toBe(0);
    const viaGrid = resizeBicubic(resizeBicubic(img, 4 * TILE_SIZE, 3 * TILE_SIZE), TILE_SIZE, TILE_SIZE);
    expect(maxAbsDiff(thumb.data, viaGrid.data)).toBeGreaterThan(0);
    // max_num 1 is the same single resize, without a thumbnail.
    const single = dynamicPreprocess(img, { maxNum: 1 });
    expect(single.numTiles).toBe(1);
    expect(maxAbsDiff(single.tiles[0].data, thumb.data)).toBe(0);
  });
});
