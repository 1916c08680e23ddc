/**
 * Where images and videos are decoded and tiled: on the calling thread (CLI, tests) or in a MediaPool (stage 0,
 * so its event loop keeps answering health checks and driving the ring). Both give the same tensors.
 */
import { LoadImageOptions, LoadedImage, loadImage } from './load-image';
import { LoadVideoOptions, LoadedVideo, loadVideo } from './load-video';
import { Semaphore } from './semaphore';

export interface MediaLoader {
  loadImage(bytes: Uint8Array, opts: Omit<LoadImageOptions, 'out'>): Promise<LoadedImage>;
  loadVideo(input: string | Uint8Array, opts: LoadVideoOptions): Promise<LoadedVideo>;
}

/**
 * Images decoded at once in one process, as in the gateway's decode check: each holds its whole decoded RGB image
 * (150 MB at 50 MP) until it is tiled, so memory stays bounded when many large images arrive together.
 */
export const MAX_CONCURRENT_DECODES = 2;

/** Preprocessing on the calling thread, at most MAX_CONCURRENT_DECODES images or videos at a time. */
export function inThreadMedia(slots = MAX_CONCURRENT_DECODES): MediaLoader {
  const sem = new Semaphore(slots);
  return {
    loadImage: (bytes, opts) => sem.run(() => loadImage(bytes, opts)),
    loadVideo: (input, opts) => sem.run(() => loadVideo(input, opts)),
  };
}

/** The process-wide in-thread loader (one semaphore for every caller). */
export const IN_THREAD_MEDIA: MediaLoader = inThreadMedia();
