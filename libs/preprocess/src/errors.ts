/**
 * Every failure the preprocessing path can report. The gateway maps codes to HTTP statuses and shows the message to
 * the caller, so each message names the input problem rather than the library that noticed it.
 */
export type PreprocessErrorCode =
  | 'empty_input'
  | 'too_large'
  | 'unsupported_format'
  | 'corrupt_image'
  | 'too_many_pixels'
  | 'invalid_argument'
  | 'no_video_frames'
  | 'video_decode_failed'
  | 'timeout';

export class PreprocessError extends Error {
  override readonly name = 'PreprocessError';

  constructor(
    readonly code: PreprocessErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isPreprocessError(e: unknown): e is PreprocessError {
  return e instanceof PreprocessError;
}
