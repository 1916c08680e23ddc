import type { MediaSource } from '../chat-input';
import { badRequest, tooLarge } from '../errors';
import { type AddressPolicy, anyAddress, publicAddressesOnly } from './address-policy';
import { decodeDataUrl } from './data-url';
import { fetchUrl } from './fetch-url';

export interface MediaLoadOptions {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  allowPrivateUrls: boolean;
  /** Overrides the address check (tests use it to model a public host on 127.0.0.1). */
  policy?: AddressPolicy;
}

/** Bytes of an image or video given as raw bytes (gRPC), a data: URL or an http(s) URL. */
export async function loadMedia(source: MediaSource, kind: 'image' | 'video', param: string, opts: MediaLoadOptions): Promise<Uint8Array> {
  if ('data' in source) {
    if (source.data.length > opts.maxBytes) {
      throw tooLarge(`${kind}_too_large`, `the ${kind} is larger than the limit of ${opts.maxBytes.toLocaleString('en-US')} bytes`, param);
    }
    return source.data;
  }
  const url = source.url.trim();
  if (/^data:/i.test(url)) return decodeDataUrl(url, opts.maxBytes, kind, param);
  if (!/^https?:\/\//i.test(url)) {
    throw badRequest('invalid_url', `the ${kind} URL must be an https:, http: or data: URL`, param);
  }
  return fetchUrl(url, {
    maxBytes: opts.maxBytes,
    timeoutMs: opts.timeoutMs,
    maxRedirects: opts.maxRedirects,
    policy: opts.policy ?? (opts.allowPrivateUrls ? anyAddress : publicAddressesOnly),
    what: kind,
    param,
  });
}
