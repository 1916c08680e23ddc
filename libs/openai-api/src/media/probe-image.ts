import { MAX_CONCURRENT_DECODES, Semaphore, sniffImageFormat } from '@ivl/preprocess';
import sharp from 'sharp';
import { tooLarge, unprocessable } from '../errors';

export interface ImageHeader {
  width: number;
  height: number;
  format: string;
}

/**
 * Width and height from the image header, with the same format rules and the same (un-rotated, first-frame) size the
 * worker's decoder uses, so the tile count here is the tile count there; then a decode check of the pixels.
 */
export async function probeImage(bytes: Uint8Array, maxPixels: number, param: string): Promise<ImageHeader> {
  if (bytes.length === 0) throw unprocessable('invalid_image', 'the image is empty (0 bytes)', param);
  const sniffed = sniffImageFormat(bytes);
  if (!sniffed.supported) {
    throw unprocessable('unsupported_image_format', `unsupported image format: ${sniffed.description}; supported formats: JPEG, PNG, GIF, WebP, TIFF`, param);
  }
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch (e) {
    throw unprocessable('invalid_image', `the ${sniffed.format.toUpperCase()} image cannot be read: ${(e as Error).message}`, param);
  }
  if (!width || !height) throw unprocessable('invalid_image', `the ${sniffed.format.toUpperCase()} header declares no image size`, param);
  if (width * height > maxPixels) {
    throw tooLarge(
      'image_too_large',
      `the image is ${width}×${height} = ${(width * height).toLocaleString('en-US')} pixels, above the limit of ${maxPixels.toLocaleString('en-US')}`,
      param,
    );
  }
  await decodeCheck(bytes, sniffed.format.toUpperCase(), maxPixels, param);
  return { width, height, format: sniffed.format };
}

// Full decodes run on libuv's threads, not the event loop; a few at a time (as many as a worker decodes at once)
// keeps the gateway's memory bounded when many large images arrive together.
const decodes = new Semaphore(MAX_CONCURRENT_DECODES);

/**
 * Decodes every pixel once (to a thumbnail, so JPEG shrinks on load and memory stays small), so a truncated or
 * corrupt image is a 422 here instead of a failed job in a worker.
 */
async function decodeCheck(bytes: Uint8Array, format: string, maxPixels: number, param: string): Promise<void> {
  await decodes.run(async () => {
    try {
      await sharp(bytes, { limitInputPixels: maxPixels, sequentialRead: true, failOn: 'truncated' }).resize(32, 32, { fit: 'inside' }).raw().toBuffer();
    } catch (e) {
      throw unprocessable('invalid_image', `the ${format} image is truncated or corrupt and cannot be decoded: ${(e as Error).message.split('\n')[0]}`, param);
    }
  });
}
