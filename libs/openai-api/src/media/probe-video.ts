import { unprocessable } from '../errors';

const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));

/**
 * A container check from magic bytes (MP4/MOV, WebM/Matroska, AVI). Frames are decoded by the worker with ffmpeg;
 * this only refuses data that is plainly not a video before it is queued.
 */
export function probeVideo(bytes: Uint8Array, param: string): string {
  if (ascii(bytes, 4, 8) === 'ftyp') return 'mp4';
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return 'matroska';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'AVI ') return 'avi';
  throw unprocessable('unsupported_video_format', 'unsupported video format; send MP4, MOV, WebM, MKV or AVI', param);
}
