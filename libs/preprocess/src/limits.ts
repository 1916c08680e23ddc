import { PreprocessError } from './errors';

/** Bounds on untrusted input, checked before any pixel is decoded. */
export interface ImageLimits {
  /**
   * Largest accepted width × height. Default 50,000,000: above the 48 MP of current phone cameras, and the decoded
   * RGB buffer (150 MB) plus the tiling intermediates stay well inside one worker's memory.
   */
  maxPixels?: number;
  /** Largest accepted encoded size in bytes. Default 64 MiB. */
  maxBytes?: number;
  /** Wall-clock limit for one decode (sharp) or one ffmpeg run, in milliseconds. Default 30,000. */
  timeoutMs?: number;
}

export const DEFAULT_LIMITS: Required<ImageLimits> = {
  maxPixels: 50_000_000,
  maxBytes: 64 * 1024 * 1024,
  timeoutMs: 30_000,
};

export function resolveLimits(limits: ImageLimits = {}): Required<ImageLimits> {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ImageLimits)[]) {
    const v = limits[key];
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v <= 0) {
      throw new PreprocessError('invalid_argument', `limits.${key} must be a positive number, got ${v}`);
    }
    out[key] = v;
  }
  return out;
}

export function checkByteLength(length: number, limits: Required<ImageLimits>, what: string): void {
  if (length === 0) throw new PreprocessError('empty_input', `the ${what} is empty (0 bytes)`);
  if (length > limits.maxBytes) {
    throw new PreprocessError(
      'too_large',
      `the ${what} is ${length.toLocaleString('en-US')} bytes, ` +
        `above the limit of ${limits.maxBytes.toLocaleString('en-US')}`,
    );
  }
}

export function checkPixelCount(width: number, height: number, limits: Required<ImageLimits>, what: string): void {
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    throw new PreprocessError(
      'too_many_pixels',
      `the ${what} declares ${width}×${height} = ${pixels.toLocaleString('en-US')} pixels, above the limit of ` +
        `${limits.maxPixels.toLocaleString('en-US')} (refused before decoding, as a possible decompression bomb)`,
    );
  }
}
