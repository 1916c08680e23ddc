import { badRequest, tooLarge } from '../errors';

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/**
 * Bytes of a `data:[<type>][;base64],<payload>` URL. Only base64 payloads are accepted (what every client sends for
 * images); the size is checked from the payload length before anything is decoded.
 */
export function decodeDataUrl(url: string, maxBytes: number, what: string, param: string): Uint8Array {
  const comma = url.indexOf(',');
  if (comma < 0) throw badRequest('invalid_url', `the ${what} data: URL has no ',' before its payload`, param);
  const header = url.slice(5, comma);
  if (!/;base64$/i.test(header)) throw badRequest('invalid_url', `the ${what} data: URL must be base64-encoded (data:<type>;base64,<data>)`, param);
  const payload = url.slice(comma + 1).replace(/\s+/g, '');
  if (Math.floor((payload.length * 3) / 4) - 2 > maxBytes) {
    throw tooLarge(`${what}_too_large`, `the ${what} is larger than the limit of ${maxBytes.toLocaleString('en-US')} bytes`, param);
  }
  if (!BASE64.test(payload)) throw badRequest('invalid_url', `the ${what} data: URL payload is not valid base64`, param);
  const b = Buffer.from(payload, 'base64');
  if (b.length > maxBytes) throw tooLarge(`${what}_too_large`, `the ${what} is larger than the limit of ${maxBytes.toLocaleString('en-US')} bytes`, param);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
