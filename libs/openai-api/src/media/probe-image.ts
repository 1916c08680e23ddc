import { sniffImageFormat } from '@ivl/preprocess';
import sharp from 'sharp';
import { tooLarge, unprocessable } from '../errors';

export interface ImageHeader {
  width: number;
  height: number;
  format: string;
}

/**
 * Width and height from the image header only (no pixel is decoded), with the same format rules and the same
 * (un-rotated, first-frame) size the worker's decoder uses, so the tile count here is the tile count there.
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
  return { width, height, format: sniffed.format };
}
