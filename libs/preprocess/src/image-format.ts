/**
 * Container sniffing from magic bytes. sharp would also detect formats, but it accepts some PIL cannot open (SVG, PDF,
 * HEIF) and its failure message for unknown data names no format, so we decide first and say what was found.
 */
export type SupportedImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff';

export const SUPPORTED_IMAGE_FORMATS: readonly SupportedImageFormat[] = ['jpeg', 'png', 'gif', 'webp', 'tiff'];

export const SUPPORTED_FORMATS_TEXT = 'JPEG, PNG, GIF, WebP, TIFF';

export type SniffResult = { supported: true; format: SupportedImageFormat } | { supported: false; description: string };

function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));
}

export function sniffImageFormat(b: Uint8Array): SniffResult {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return { supported: true, format: 'jpeg' };
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { supported: true, format: 'png' };
  const head6 = ascii(b, 0, 6);
  if (head6 === 'GIF87a' || head6 === 'GIF89a') return { supported: true, format: 'gif' };
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return { supported: true, format: 'webp' };
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { supported: true, format: 'tiff' };
  }
  return { supported: false, description: describeUnsupported(b) };
}

function describeUnsupported(b: Uint8Array): string {
  if (ascii(b, 4, 8) === 'ftyp') {
    const brand = ascii(b, 8, 12);
    if (/^(avif|avis)$/.test(brand)) return 'AVIF';
    if (/^(heic|heix|hevc|hevx|mif1|msf1)$/.test(brand)) return 'HEIF/HEIC';
    return `an ISO-BMFF file (brand "${brand}", likely a video: use the video input)`;
  }
  if (ascii(b, 0, 2) === 'BM') return 'BMP';
  if (ascii(b, 0, 4) === '%PDF') return 'PDF';
  if (startsWith(b, [0x49, 0x49, 0x2b, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2b])) return 'BigTIFF';
  if (startsWith(b, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50])) return 'JPEG 2000';
  if (startsWith(b, [0xff, 0x0a]) || startsWith(b, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return 'JPEG XL';
  if (ascii(b, 0, 4) === '8BPS') return 'Photoshop PSD';
  if (startsWith(b, [0x00, 0x00, 0x01, 0x00])) return 'ICO';
  if (startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) return 'Matroska/WebM (a video: use the video input)';
  const text = ascii(b, 0, 256).trimStart().toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'SVG';
  const hex = Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return `unrecognised data (first bytes: ${hex})`;
}
