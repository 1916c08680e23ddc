/** Messages between the main thread and a media thread. */
import type { LoadImageOptions, LoadedImage } from '../load-image';
import type { LoadVideoOptions, LoadedVideo } from '../load-video';
import { PreprocessError, PreprocessErrorCode } from '../errors';

/** One image or one video to preprocess. */
export type MediaWork =
  | { kind: 'image'; bytes: Uint8Array; opts: Omit<LoadImageOptions, 'out'> }
  | { kind: 'video'; input: string | Uint8Array; opts: LoadVideoOptions };

export type MediaTask = MediaWork & { id: number };

export interface WireError {
  name: string;
  message: string;
  code?: string;
}

export type MediaReply = { id: number; ok: true; value: LoadedImage | LoadedVideo } | { id: number; ok: false; error: WireError };

export function toWire(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, code: e instanceof PreprocessError ? e.code : undefined };
}

/** The error as the main thread sees it: a PreprocessError stays one (the job fails for good, with its code). */
export function fromWire(w: WireError): Error {
  if (w.name === 'PreprocessError' && w.code) return new PreprocessError(w.code as PreprocessErrorCode, w.message);
  return Object.assign(new Error(w.message), { name: w.name });
}
