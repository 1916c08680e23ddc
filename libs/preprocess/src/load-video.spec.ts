import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultFfmpegPath } from './ffmpeg-run';
import { getFrameIndices } from './frame-indices';
import { imageToTensor } from './load-image';
import { loadVideo } from './load-video';
import { TILE_SIZE } from './tile-plan';

const TILE_FLOATS = 3 * TILE_SIZE * TILE_SIZE;
let dir: string;
let video: string;

function ffmpeg(...args: string[]): Buffer {
  return execFileSync(defaultFfmpegPath(), ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], {
    maxBuffer: 64 << 20,
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ivl-video-spec-'));
  video = join(dir, 'testsrc.mp4');
  // 2 s at 10 fps, 64×48: 20 frames whose content (a moving pattern and a counter) changes every frame.
  ffmpeg('-f', 'lavfi', '-i', 'testsrc=duration=2:size=64x48:rate=10', '-pix_fmt', 'yuv420p', video);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadVideo (card load_video)', () => {
  it('probes count and rate, samples with get_index, one 448×448 tile per frame', async () => {
    const v = await loadVideo(video, { numSegments: 8 });
    expect([v.totalFrames, v.fps, v.width, v.height, v.numFrames]).toEqual([20, 10, 64, 48, 8]);
    expect(v.frameIndices).toEqual(getFrameIndices({ numFrames: 20, fps: 10, numSegments: 8 }));
    expect(v.frameIndices).toEqual([1, 3, 6, 8, 11, 13, 15, 18]);
    expect(v.pixelValues.length).toBe(8 * TILE_FLOATS);
    const frame = (k: number) => Buffer.from(v.pixelValues.buffer, k * TILE_FLOATS * 4, TILE_FLOATS * 4);
    for (let k = 1; k < 8; k++) expect(frame(k).equals(frame(k - 1)), `frames ${k - 1} and ${k}`).toBe(false);
  });

  it('puts frame i of the stream at each sampled position (checked against a full decode)', async () => {
    const v = await loadVideo(video, { numSegments: 4 });
    const all = ffmpeg('-noautorotate', '-i', video, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-');
    const frameBytes = 64 * 48 * 3;
    expect(all.length).toBe(20 * frameBytes);
    v.frameIndices.forEach((idx, k) => {
      const raw = new Uint8Array(all.buffer, all.byteOffset + idx * frameBytes, frameBytes);
      const want = imageToTensor({ width: 64, height: 48, data: raw }, { maxNum: 1 }).pixelValues;
      const got = v.pixelValues.slice(k * TILE_FLOATS, (k + 1) * TILE_FLOATS);
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `frame ${idx}`).toBe(true);
    });
  });

  it('accepts bytes, applies a time bound, and repeats frames when segments outnumber frames', async () => {
    const bytes = new Uint8Array(readFileSync(video));
    const bounded = await loadVideo(bytes, { numSegments: 4, bound: [0.5, 1.5] });
    const want = getFrameIndices({ numFrames: 20, fps: 10, numSegments: 4, bound: [0.5, 1.5] });
    expect(bounded.frameIndices).toEqual(want);
    expect(bounded.frameIndices.every((i) => i >= 5 && i <= 15)).toBe(true);
    const many = await loadVideo(video, { numSegments: 32 });
    expect(new Set(many.frameIndices).size).toBeLessThan(32);
    const first = many.frameIndices.findIndex((i, k) => k > 0 && i === many.frameIndices[k - 1]);
    const a = many.pixelValues.slice((first - 1) * TILE_FLOATS, first * TILE_FLOATS);
    const b = many.pixelValues.slice(first * TILE_FLOATS, (first + 1) * TILE_FLOATS);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it('fails cleanly on garbage, on files without video, on empty input and on a bound past the end', async () => {
    const junk = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 255);
    await expect(loadVideo(junk)).rejects.toMatchObject({
      code: 'video_decode_failed',
      message: /cannot read the video/,
    });
    const audio = join(dir, 'tone.wav');
    ffmpeg('-f', 'lavfi', '-i', 'sine=duration=0.5', audio);
    await expect(loadVideo(audio)).rejects.toMatchObject({ code: 'no_video_frames' });
    await expect(loadVideo(new Uint8Array(0))).rejects.toMatchObject({ code: 'empty_input' });
    await expect(loadVideo(join(dir, 'missing.mp4'))).rejects.toMatchObject({ code: 'video_decode_failed' });
    await expect(loadVideo(video, { bound: [5, 9] })).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('turns a truncated file into an error, not a hang', async () => {
    const bytes = readFileSync(video);
    const cut = join(dir, 'cut.mp4');
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    await expect(loadVideo(cut, { limits: { timeoutMs: 20_000 } })).rejects.toMatchObject({
      code: expect.stringMatching(/video_decode_failed|no_video_frames/),
    });
  });

  it('enforces frame-size and byte limits', async () => {
    await expect(loadVideo(video, { limits: { maxPixels: 1000 } })).rejects.toMatchObject({ code: 'too_many_pixels' });
    await expect(loadVideo(video, { limits: { maxBytes: 100 } })).rejects.toMatchObject({ code: 'too_large' });
  });
});
