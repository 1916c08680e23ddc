import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { ApiError, badRequest, tooLarge } from '../errors';
import { type AddressPolicy, ipFamily } from './address-policy';

export interface FetchOptions {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  policy: AddressPolicy;
  /** For error messages and `param`. */
  what: string;
  param: string;
}

/**
 * Downloads an http(s) URL for a request, with the SSRF guard applied to the address the socket actually connects
 * to: host names are resolved by our own lookup, which drops refused addresses, so a DNS answer that changes
 * between a check and the connection (DNS rebinding) cannot slip through. Redirects are followed by hand so that
 * every hop is checked again. Size and time are bounded while reading, not only by Content-Length.
 */
export async function fetchUrl(rawUrl: string, opts: FetchOptions): Promise<Uint8Array> {
  const deadline = Date.now() + opts.timeoutMs;
  let url = parseHttpUrl(rawUrl, opts);
  for (let hop = 0; ; hop++) {
    const res = await request(url, opts, deadline);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= opts.maxRedirects) throw fetchFailed(opts, `too many redirects (more than ${opts.maxRedirects})`);
      url = parseHttpUrl(new URL(res.headers.location, url).toString(), opts);
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      throw fetchFailed(opts, `the server answered HTTP ${status}`);
    }
    return readBody(res, opts, deadline);
  }
}

function parseHttpUrl(raw: string, opts: FetchOptions): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest('invalid_url', `the ${opts.what} URL is not a valid URL`, opts.param);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badRequest('invalid_url', `the ${opts.what} URL scheme ${url.protocol} is not allowed; use https:, http: or a data: URL`, opts.param);
  }
  const family = ipFamily(url.hostname);
  if (family && !allowed(opts.policy, url.hostname.replace(/^\[|\]$/g, ''), family)) throw refused(opts, url.hostname);
  return url;
}

function allowed(policy: AddressPolicy, address: string, family: 4 | 6): boolean {
  try {
    return policy(address, family);
  } catch {
    return false; // unparsable (e.g. a zone id): refuse
  }
}

function refused(opts: FetchOptions, host: string): ApiError {
  return badRequest(
    'url_not_allowed',
    `the ${opts.what} URL host ${host} is a loopback, private, link-local or otherwise non-public address; such URLs are refused (an operator can allow them with IVL_ALLOW_PRIVATE_URLS=1)`,
    opts.param,
  );
}

function fetchFailed(opts: FetchOptions, why: string): ApiError {
  return badRequest('media_fetch_failed', `the ${opts.what} could not be downloaded: ${why}`, opts.param);
}

class RefusedAddress extends Error {}

function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const ok = addresses.filter((a) => allowed(policy, a.address, a.family as 4 | 6));
      if (ok.length === 0) return callback(new RefusedAddress(hostname), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, ok);
      callback(null, ok[0].address, ok[0].family);
    });
  };
}

function request(url: URL, opts: FetchOptions, deadline: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: 'GET',
      // A fresh connection per request: pooled sockets would skip the lookup (and with it the address check).
      agent: false,
      lookup: guardedLookup(opts.policy),
      headers: { 'user-agent': 'ivl-cluster-gateway', accept: '*/*' },
      timeout: Math.max(1, deadline - Date.now()),
    });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), Math.max(1, deadline - Date.now()));
    req.on('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => {
      clearTimeout(timer);
      if (e instanceof RefusedAddress) reject(refused(opts, url.hostname));
      else if (e.message === 'timeout') reject(fetchFailed(opts, `no answer within ${opts.timeoutMs} ms`));
      else reject(fetchFailed(opts, (e as NodeJS.ErrnoException).code ?? e.message));
    });
    req.end();
  });
}

function readBody(res: IncomingMessage, opts: FetchOptions, deadline: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      res.destroy();
      return reject(tooBig(opts));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      res.destroy();
      reject(fetchFailed(opts, `not received within ${opts.timeoutMs} ms`));
    }, Math.max(1, deadline - Date.now()));
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > opts.maxBytes) {
        clearTimeout(timer);
        res.destroy();
        reject(tooBig(opts));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => {
      clearTimeout(timer);
      const b = Buffer.concat(chunks);
      resolve(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    });
    res.on('error', (e) => {
      clearTimeout(timer);
      reject(fetchFailed(opts, e.message));
    });
  });
}

function tooBig(opts: FetchOptions): ApiError {
  return tooLarge(`${opts.what}_too_large`, `the ${opts.what} is larger than the limit of ${opts.maxBytes.toLocaleString('en-US')} bytes`, opts.param);
}
