import { describe, expect, it } from 'vitest';
import { sniffImageFormat } from './image-format';

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

describe('sniffImageFormat', () => {
  it('recognises the supported containers by magic bytes', () => {
    expect(sniffImageFormat(bytes([0xff, 0xd8, 0xff, 0xe0]))).toEqual({ supported: true, format: 'jpeg' });
    expect(sniffImageFormat(bytes([0x89], 'PNG\r\n\x1a\n'))).toEqual({ supported: true, format: 'png' });
    expect(sniffImageFormat(bytes('GIF89a'))).toEqual({ supported: true, format: 'gif' });
    expect(sniffImageFormat(bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 '))).toEqual({ supported: true, format: 'webp' });
    expect(sniffImageFormat(bytes('II*\x00'))).toEqual({ supported: true, format: 'tiff' });
    expect(sniffImageFormat(bytes('MM\x00*'))).toEqual({ supported: true, format: 'tiff' });
  });

  it('names formats Pillow-parity decoding does not support', () => {
    const name = (b: Uint8Array) => {
      const r = sniffImageFormat(b);
      return r.supported ? r.format : r.description;
    };
    expect(name(bytes('BM'))).toBe('BMP');
    expect(name(bytes('%PDF-1.7'))).toBe('PDF');
    expect(name(bytes([0, 0, 0, 0x18], 'ftypheic'))).toBe('HEIF/HEIC');
    expect(name(bytes([0, 0, 0, 0x18], 'ftypisom'))).toMatch(/ISO-BMFF .*video/);
    expect(name(bytes('  <?xml version="1.0"?><svg>'))).toBe('SVG');
    expect(name(bytes([0x1a, 0x45, 0xdf, 0xa3]))).toMatch(/Matroska/);
    expect(name(bytes([1, 2, 3]))).toBe('unrecognised data (first bytes: 01 02 03)');
    // A JPEG signature cut to two bytes is not a JPEG.
    expect(sniffImageFormat(bytes([0xff, 0xd8])).supported).toBe(false);
  });
});
