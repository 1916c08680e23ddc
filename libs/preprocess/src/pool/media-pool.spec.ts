// Runs dist/media-thread.js: build first (`node tools/build.mjs`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreprocessError } from '../errors';
import { defaultFfmpegPath } from '../ffmpeg-run';
import { loadImage } from '../load-image';
import { loadVideo } from '../load-video';
import { fixtureBytes, loadManifest } from '../testing/fixtures';
import { MediaPool, MediaPoolBusyError } from './media-pool';

const bitsOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('MediaPool', () => {
  let pool: MediaPool;
  let dir: string;
  beforeAll(() => {
    pool = new MediaPool({ threads: 2 });
    dir = mkdtempSync(join(tmpdir(), 'ivl-media-pool-'));
  });
  afterAll(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives bit-identical tiles to the in-thread path for every fixture format and tiling', async () => {
    const cases = loadManifest().cases;
    // All at once: the pool's two threads share them out; the answers still arrive to the right callers.
    const pooled = await Promise.all(cases.map((c) => pool.loadImage(fixtureBytes('sources', c.source), { maxNum: c.maxNum })));
    for (const [i, c] of cases.entries()) {
      const local = await loadImage(fixtureBytes('sources', c.source), { maxNum: c.maxNum });
      const p = pooled[i];
      expect([p.cols, p.rows, p.numTiles, p.width, p.height], c.source).toEqual([local.cols, local.rows, local.numTiles, local.width, local.height]);
      expect(bitsOf(p.pixelValues).equals(bitsOf(local.pixelValues)), `${c.source} max_num ${c.maxNum}`).toBe(true);
    }
  });

  it('gives bit-identical frames for a video, from a file or from bytes', async () => {
    const file = join(dir, 'clip.mp4');
    execFileSync(defaultFfmpegPath(), ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=96x64:rate=10', '-pix_fmt', 'yuv420p', file]);
    const local = await loadVideo(file, { numSegments: 4 });
    for (const input of [file, new Uint8Array(readFileSync(file))]) {
      const p = await pool.loadVideo(input, { numSegments: 4 });
      expect(p.frameIndices).toEqual(local.frameIndices);
      expect(bitsOf(p.pixelValues).equals(bitsOf(local.pixelValues))).toBe(true);
    }
  });

  it('reports bad input as the same PreprocessError the in-thread path throws', async () => {
    const png = fixtureBytes('sources', 'rgb-800x600.png');
    const truncated = png.subarray(0, png.length >> 1);
    const local = await loadImage(truncated).catch((e: PreprocessError) => e);
    const pooled = await pool.loadImage(truncated).catch((e: PreprocessError) => e);
    expect(pooled).toBeInstanceOf(PreprocessError);
    expect([(pooled as PreprocessError).code, (pooled as PreprocessError).message]).toEqual([(local as PreprocessError).code, (local as PreprocessError).message]);
    await expect(pool.loadImage(png, { limits: { maxPixels: 1000 } })).rejects.toMatchObject({ name: 'PreprocessError', code: 'too_many_pixels' });
  });

  it('works on at most `threads` images at once and refuses work beyond its queue', async () => {
    const small = new MediaPool({ threads: 1, maxQueued: 2 });
    try {
      const png = fixtureBytes('sources', 'rgb-800x600.png');
      const running = [0, 1, 2].map(() => small.loadImage(png));
      expect([small.busy, small.queued]).toEqual([1, 2]);
      await expect(small.loadImage(png)).rejects.toBeInstanceOf(MediaPoolBusyError);
      await Promise.all(running);
      expect([small.busy, small.queued]).toEqual([0, 0]);
    } finally {
      await small.close();
    }
    await expect(small.loadImage(fixtureBytes('sources', 'tiny-50x30.png'))).rejects.toThrow(/closed/);
  });
});
