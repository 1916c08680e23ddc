/**
 * The model card's `load_video`: sample `numSegments` frames with `get_index`, decode them with ffmpeg to RGB, and
 * turn each into one 448×448 tile (max_num = 1: a plain resize, aspect ratio not kept, no thumbnail).
 *
 * Frame pixels come from ffmpeg's YUV→RGB conversion, not decord's, so they can differ slightly from the reference;
 * the sampling, resizing and normalisation are exact.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreprocessError } from './errors';
import { ffmpegErrorLine, runFfmpeg } from './ffmpeg-run';
import { getFrameIndices } from './frame-indices';
import { imageToTensor } from './load-image';
import { TILE_SIZE } from './tile-plan';
import { ffmpegInput, probeVideo } from './video-probe';

export interface VideoLimits {
  /** Largest accepted file in bytes. Default 1 GiB. */
  maxBytes?: number;
  /** Largest accepted frame width × height. Default 50,000,000 (as for images). */
  maxPixels?: number;
  /** Wall-clock limit for each ffmpeg run, in milliseconds. Default 120,000. */
  timeoutMs?: number;
}

export interface LoadVideoOptions {
  /** Frames to sample. Default 8, as in the model card's example call (the function's own default is 32). */
  numSegments?: number;
  /** [start, end] in seconds. */
  bound?: readonly [number, number];
  limits?: VideoLimits;
  /** Override the bundled ffmpeg binary. */
  ffmpegPath?: string;
}

export interface LoadedVideo {
  /** Shape [numFrames, 3, 448, 448]: one tile per sampled frame, in sampling order. */
  pixelValues: Float32Array;
  numFrames: number;
  frameIndices: number[];
  fps: number;
  totalFrames: number;
  /** Decoded frame size. */
  width: number;
  height: number;
}

const DEFAULTS: Required<VideoLimits> = { maxBytes: 1024 ** 3, maxPixels: 50_000_000, timeoutMs: 120_000 };
const TILE_FLOATS = 3 * TILE_SIZE * TILE_SIZE;

export async function loadVideo(input: string | Uint8Array, opts: LoadVideoOptions = {}): Promise<LoadedVideo> {
  const lim = { ...DEFAULTS, ...opts.limits };
  const numSegments = opts.numSegments ?? 8;
  if (!Number.isInteger(numSegments) || numSegments < 1 || numSegments > 1024) {
    throw new PreprocessError('invalid_argument', `numSegments must be an integer in 1..1024, got ${numSegments}`);
  }
  if (typeof input === 'string') return loadVideoFile(input, await fileSize(input), numSegments, lim, opts);
  const dir = await mkdtemp(join(tmpdir(), 'ivl-video-'));
  try {
    // ffmpeg needs a seekable input: MP4 files often keep their index (moov) at the end.
    const file = join(dir, 'input');
    checkSize(input.length, lim.maxBytes);
    await writeFile(file, input);
    return await loadVideoFile(file, input.length, numSegments, lim, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    throw new PreprocessError('video_decode_failed', `cannot read the video file ${path}`, { cause: e });
  }
}

function checkSize(bytes: number, maxBytes: number): void {
  if (bytes === 0) throw new PreprocessError('empty_input', 'the video is empty (0 bytes)');
  if (bytes > maxBytes) {
    throw new PreprocessError('too_large', `the video is ${bytes} bytes, above the limit of ${maxBytes}`);
  }
}

async function loadVideoFile(
  file: string,
  bytes: number,
  numSegments: number,
  lim: Required<VideoLimits>,
  opts: LoadVideoOptions,
): Promise<LoadedVideo> {
  checkSize(bytes, lim.maxBytes);
  const run = { timeoutMs: lim.timeoutMs, ffmpegPath: opts.ffmpegPath };
  const info = await probeVideo(file, run);
  if (info.width * info.height > lim.maxPixels) {
    throw new PreprocessError(
      'too_many_pixels',
      `video frames are ${info.width}×${info.height}, above the limit of ${lim.maxPixels} pixels`,
    );
  }
  const frameIndices = getFrameIndices({
    numFrames: info.totalFrames,
    fps: info.fps,
    numSegments,
    bound: opts.bound,
  });
  if (frameIndices.some((i) => i < 0 || i >= info.totalFrames)) {
    throw new PreprocessError(
      'invalid_argument',
      `bound [${opts.bound}] s selects frames outside the video (${info.totalFrames} frames at ${info.fps} fps)`,
    );
  }

  const frames = await decodeFrames(file, [...new Set(frameIndices)].sort((a, b) => a - b), info, run);
  const pixelValues = new Float32Array(numSegments * TILE_FLOATS);
  const tensors = new Map<number, Float32Array>();
  frameIndices.forEach((idx, k) => {
    let t = tensors.get(idx);
    if (!t) {
      const frame = { width: info.width, height: info.height, data: frames.get(idx)! };
      t = imageToTensor(frame, { maxNum: 1 }).pixelValues;
      tensors.set(idx, t);
    }
    pixelValues.set(t, k * TILE_FLOATS);
  });
  return {
    pixelValues,
    numFrames: numSegments,
    frameIndices,
    fps: info.fps,
    totalFrames: info.totalFrames,
    width: info.width,
    height: info.height,
  };
}

/** One ffmpeg run for all wanted frames: `select` by decoded-frame number, passthrough timing, raw RGB out. */
async function decodeFrames(
  file: string,
  wanted: number[],
  info: { width: number; height: number; totalFrames: number },
  run: { timeoutMs: number; ffmpegPath?: string },
): Promise<Map<number, Uint8Array>> {
  const frameBytes = info.width * info.height * 3;
  const select = `select='${wanted.map((i) => `eq(n\\,${i})`).join('+')}'`;
  const res = await runFfmpeg(
    [
      ...['-noautorotate', '-i', ffmpegInput(file), '-map', '0:v:0', '-vf', select],
      ...['-vsync', '0', '-frames:v', String(wanted.length), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    ],
    { ...run, maxStdoutBytes: wanted.length * frameBytes },
  );
  const got = Math.floor(res.stdout.length / frameBytes);
  if (res.code !== 0 && got < wanted.length) {
    const line = ffmpegErrorLine(res.stderr);
    throw new PreprocessError('video_decode_failed', `ffmpeg failed while decoding frames: ${line}`);
  }
  if (got < wanted.length) {
    throw new PreprocessError(
      'video_decode_failed',
      `decoded only ${got} of the ${wanted.length} sampled frames; the container declares ${info.totalFrames} ` +
        `frames but fewer are decodable`,
    );
  }
  const out = new Map<number, Uint8Array>();
  const { buffer, byteOffset } = res.stdout;
  wanted.forEach((idx, k) => out.set(idx, new Uint8Array(buffer, byteOffset + k * frameBytes, frameBytes)));
  return out;
}
