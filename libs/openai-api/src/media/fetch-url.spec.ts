import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicAddressesOnly } from './address-policy';
import { fetchUrl, type FetchOptions } from './fetch-url';
import { failure } from '../testing/failure';

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') return res.end('hello');
    if (req.url === '/big') return res.end(Buffer.alloc(5000));
    if (req.url === '/chunked') {
      res.write(Buffer.alloc(3000));
      setTimeout(() => res.end(Buffer.alloc(3000)), 10);
      return;
    }
    if (req.url === '/slow') return setTimeout(() => res.end('late'), 2000);
    if (req.url === '/to-other-loopback') {
      res.writeHead(302, { location: `http://127.0.0.2:${port}/ok` });
      return res.end();
    }
    if (req.url === '/loop') {
      res.writeHead(302, { location: '/loop' });
      return res.end();
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

// Models a deployment where 127.0.0.1 stands for a public host and everything else stays refused.
const onlyLocalhost: FetchOptions['policy'] = (a) => a === '127.0.0.1';
const opts = (o: Partial<FetchOptions> = {}): FetchOptions => ({ maxBytes: 4096, timeoutMs: 1000, maxRedirects: 2, policy: onlyLocalhost, what: 'image', param: 'p', ...o });


describe('fetchUrl', () => {
  it('downloads within the limits', async () => {
    expect(Buffer.from(await fetchUrl(`http://127.0.0.1:${port}/ok`, opts())).toString()).toBe('hello');
  });

  it('refuses loopback by default, by literal and by DNS name', async () => {
    for (const url of [`http://127.0.0.1:${port}/ok`, `http://localhost:${port}/ok`, `http://[::1]:${port}/ok`, 'http://169.254.169.254/latest/meta-data/']) {
      const e = await failure(fetchUrl(url, opts({ policy: publicAddressesOnly })));
      expect(e.status, url).toBe(400);
      expect(e.code, url).toBe('url_not_allowed');
    }
  });

  it('checks every redirect hop again', async () => {
    const e = await failure(fetchUrl(`http://127.0.0.1:${port}/to-other-loopback`, opts()));
    expect(e.code).toBe('url_not_allowed');
    expect((await failure(fetchUrl(`http://127.0.0.1:${port}/loop`, opts()))).message).toMatch(/too many redirects/);
  });

  it('bounds size (declared and streamed), time and status', async () => {
    expect((await failure(fetchUrl(`http://127.0.0.1:${port}/big`, opts()))).status).toBe(413);
    expect((await failure(fetchUrl(`http://127.0.0.1:${port}/chunked`, opts()))).status).toBe(413);
    expect((await failure(fetchUrl(`http://127.0.0.1:${port}/slow`, opts({ timeoutMs: 200 })))).message).toMatch(/200 ms/);
    expect((await failure(fetchUrl(`http://127.0.0.1:${port}/missing`, opts()))).message).toMatch(/HTTP 404/);
  });

  it('refuses other schemes', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/x', 'gopher://x']) {
      expect((await failure(fetchUrl(url, opts()))).code).toBe('invalid_url');
    }
  });
});
