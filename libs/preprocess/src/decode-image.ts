/**
 * Decoding with sharp, made to agree with `PIL.Image.open(f).convert('RGB')`: sharp only parses the container and
 * hands back the stored samples; every colour-model conversion is Pillow's own, done in `pil-convert`.
 */
import sharp from 'sharp';
import type { Metadata, OutputInfo } from 'sharp';
import { PreprocessError } from './errors';
import { gifTransparentColour, paintTransparent } from './gif-transparency';
import { SUPPORTED_FORMATS_TEXT, sniffImageFormat } from './image-format';
import { ImageLimits, checkByteLength, checkPixelCount, resolveLimits } from './limits';
import { rgbFrom16bit, rgbFrom8bit, rgbFromCmyk } from './pil-convert';
import { RgbImage } from './rgb-image';

/**
 * Per stored layout: the colourspace to ask sharp for so that it converts nothing. Without `toColourspace` sharp
 * turns gray and CMYK into sRGB (CMYK through an ICC transform Pillow never applies).
 */
const LAYOUTS: Record<string, { colourspace: string; depth: 'uchar' | 'ushort' } | undefined> = {
  'srgb/uchar': { colourspace: 'srgb', depth: 'uchar' },
  'b-w/uchar': { colourspace: 'b-w', depth: 'uchar' },
  'cmyk/uchar': { colourspace: 'cmyk', depth: 'uchar' },
  'rgb16/ushort': { colourspace: 'rgb16', depth: 'ushort' },
  'grey16/ushort': { colourspace: 'grey16', depth: 'ushort' },
};

export async function decodeImage(bytes: Uint8Array, limits?: ImageLimits): Promise<RgbImage> {
  const lim = resolveLimits(limits);
  checkByteLength(bytes.length, lim, 'image');
  const sniffed = sniffImageFormat(bytes);
  if (!sniffed.supported) {
    throw new PreprocessError(
      'unsupported_format',
      `unsupported image format: ${sniffed.description}; supported formats: ${SUPPORTED_FORMATS_TEXT}`,
    );
  }

  // Header only: the pixel budget is enforced here, before any pixel is inflated.
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw corrupt(sniffed.format, e);
  }
  const { width, height } = meta;
  if (!width || !height) {
    throw new PreprocessError('corrupt_image', `the ${sniffed.format.toUpperCase()} header declares no image size`);
  }
  checkPixelCount(width, height, lim, `${sniffed.format.toUpperCase()} image`);

  const layout = LAYOUTS[`${meta.space}/${meta.depth}`];
  if (!layout) {
    throw new PreprocessError(
      'unsupported_format',
      `unsupported pixel layout in the ${sniffed.format.toUpperCase()} image: colourspace ${meta.space}, ` +
        `sample type ${meta.depth}; 8-bit gray/RGB/CMYK and 16-bit gray/RGB are supported`,
    );
  }

  let data: Buffer;
  let info: OutputInfo;
  try {
    // ignoreIcc: Pillow applies no ICC profile. autoOrient off: Pillow ignores EXIF orientation. No resize call, so
    // no shrink-on-load. failOn 'error' rejects truncated data (as Pillow does) but tolerates libjpeg warnings.
    let pipeline = sharp(bytes, {
      limitInputPixels: lim.maxPixels,
      ignoreIcc: true,
      autoOrient: false,
      failOn: 'error',
      pages: 1,
      page: 0,
      sequentialRead: true,
    }).timeout({ seconds: Math.max(1, Math.ceil(lim.timeoutMs / 1000)) });
    if (layout.colourspace === 'cmyk') pipeline = pipeline.pipelineColourspace('cmyk');
    pipeline = pipeline.toColourspace(layout.colourspace);
    ({ data, info } = await pipeline.raw({ depth: layout.depth }).toBuffer({ resolveWithObject: true }));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/timeout/i.test(msg)) {
      throw new PreprocessError('timeout', `decoding the image took longer than ${lim.timeoutMs} ms`, { cause: e });
    }
    throw corrupt(sniffed.format, e);
  }

  if (info.width !== width || info.height !== height) {
    throw new PreprocessError(
      'corrupt_image',
      `decoder returned ${info.width}×${info.height} for an image declared as ${width}×${height}`,
    );
  }
  const channels = info.channels;
  if (layout.depth === 'ushort') {
    return rgbFrom16bit(asUint16(data), width, height, channels);
  }
  const u8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (layout.colourspace === 'cmyk') return rgbFromCmyk(u8, width, height, channels);
  // sharp's output buffer is ours alone: plain RGB needs no copy.
  if (channels === 3) return { width, height, data: u8 };
  const rgb = rgbFrom8bit(u8, width, height, channels);
  if (sniffed.format === 'gif' && channels === 4) {
    const colour = gifTransparentColour(bytes);
    if (colour) paintTransparent(rgb, u8, colour);
  }
  return rgb;
}

function asUint16(b: Buffer): Uint16Array {
  if (b.byteOffset % 2 === 0) return new Uint16Array(b.buffer, b.byteOffset, b.byteLength >> 1);
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Uint16Array(copy.buffer);
}

function corrupt(format: string, e: unknown): PreprocessError {
  const detail = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  return new PreprocessError(
    'corrupt_image',
    `the ${format.toUpperCase()} data is corrupt or truncated (${detail})`,
    { cause: e },
  );
}
