/** The model card's `get_index`: which frames `load_video` samples. */
import { PreprocessError } from './errors';
import { roundHalfEven } from './python-round';

export interface FrameIndexOptions {
  /** Frames in the video (`len(vr)`); the last usable index is numFrames − 1. */
  numFrames: number;
  /** Average frame rate (decord's `get_avg_fps`). */
  fps: number;
  numSegments: number;
  /** [start, end] in seconds; without it the whole video is used. */
  bound?: readonly [number, number];
}

/**
 * Mirrors Python exactly: `round` and `np.round` are half-to-even, `int` truncates toward zero, and the sum
 * `start_idx + seg / 2 + round(seg · k)` is evaluated left to right in doubles. Indices may repeat.
 */
export function getFrameIndices(opts: FrameIndexOptions): number[] {
  const { numFrames, fps, numSegments, bound } = opts;
  if (!Number.isInteger(numFrames) || numFrames < 1) {
    throw new PreprocessError('invalid_argument', `numFrames must be a positive integer, got ${numFrames}`);
  }
  if (!Number.isInteger(numSegments) || numSegments < 1) {
    throw new PreprocessError('invalid_argument', `numSegments must be a positive integer, got ${numSegments}`);
  }
  if (!(Number.isFinite(fps) && fps > 0)) {
    throw new PreprocessError('invalid_argument', `fps must be a positive number, got ${fps}`);
  }
  if (bound && !(Number.isFinite(bound[0]) && Number.isFinite(bound[1]))) {
    throw new PreprocessError('invalid_argument', `bound must be two finite numbers of seconds, got [${bound}]`);
  }
  // No bound means ±100000 s, as in the card; with a very low fps this still clips the end, as it does in Python.
  const [start, end] = bound ?? [-100000, 100000];
  const maxFrame = numFrames - 1;
  const firstIdx = 0;
  const startIdx = Math.max(firstIdx, roundHalfEven(start * fps));
  const endIdx = Math.min(roundHalfEven(end * fps), maxFrame);
  const seg = (endIdx - startIdx) / numSegments;
  const out: number[] = [];
  // `+ 0`: Python's int() of −0.5 is 0, not −0.
  for (let k = 0; k < numSegments; k++) out.push(Math.trunc(startIdx + seg / 2 + roundHalfEven(seg * k)) + 0);
  return out;
}
