import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeImage } from './decode-image';
import { PreprocessError } from './errors';
import { expectedImage, fixtureBytes, loadManifest, maxAbsDiff } from './testing/fixtures';

async function decodeError(bytes: Uint8Array, limits?: Parameters<typeof decodeImage>[1]): Promise<PreprocessError> {
  try {
    await decodeImage(bytes, limits);
  } catch (e) {
    if (e instanceof PreprocessError) return e;
    throw new Error(`expected a PreprocessError, got ${String(e)}`);
  }
  throw new Error('expected decodeImage to fail');
}

function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function pngChunk(type: string, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), payload]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/** The whole chunk (length, type, data, CRC) of the first chunk of `type`. */
function pngChunkOf(png: Buffer, type: string): Buffer {
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    if (png.toString('ascii', at + 4, at + 8) === type) return png.subarray(at, at + 12 + len);
    at += 12 + len;
  }
  throw new Error(`no ${type} chunk`);
}

/** A well-formed PNG header declaring width × height RGB, with a few rows of data: a decompression bomb's shape. */
function pngDeclaring(width: number, height: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc((width * 3 + 1) * 4))),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

describe('decodeImage: Pillow parity', () => {
  const cases = loadManifest().cases.filter((c, i, all) => all.findIndex((d) => d.source === c.source) === i);

  const named = cases.map((c) => [c.source, c] as const);
  it.each(named)('%s decodes to what Image.open().convert("RGB") gives', async (_, c) => {
    const img = await decodeImage(fixtureBytes('sources', c.source));
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    const sha = createHash('sha256').update(img.data).digest('hex');
    if (c.decoded) {
      // Lossy formats: decoder builds may legitimately differ by one level; report, and require ≤ 1.
      const pil = await expectedImage(c.decoded);
      const diff = maxAbsDiff(img.data, pil.data);
      console.log(`decode ${c.source}: max |sharp − PIL| = ${diff}${sha === c.decodedSha256 ? ' (identical)' : ''}`);
      expect(diff).toBeLessThanOrEqual(1);
    } else {
      expect(sha).toBe(c.decodedSha256);
    }
  });

  it('applies no ICC profile: a Display-P3-tagged PNG decodes to its stored values', async () => {
    const raw = Buffer.alloc(16 * 8 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) & 255;
    const rawOpts = { raw: { width: 16, height: 8, channels: 3 as const } };
    const plain = await sharp(raw, rawOpts).png().toBuffer();
    // sharp converts pixels when it writes a profile, so take only its iCCP chunk and splice it into the plain PNG.
    const tagged = await sharp(raw, rawOpts).withIccProfile('p3').png().toBuffer();
    const iccp = pngChunkOf(tagged, 'iCCP');
    const png = Buffer.concat([plain.subarray(0, 33), iccp, plain.subarray(33)]);
    expect((await sharp(png).metadata()).hasProfile).toBe(true);
    // sharp alone would convert P3 to sRGB, which is what must not happen:
    expect(maxAbsDiff(await sharp(png).raw().toBuffer(), raw)).toBeGreaterThan(0);
    expect(maxAbsDiff((await decodeImage(png)).data, raw)).toBe(0);
  });

  it('drops alpha without compositing: fully transparent pixels keep their colour', async () => {
    const rgba = Buffer.from([10, 20, 30, 0, 200, 100, 50, 128]);
    const png = await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
    expect(Array.from((await decodeImage(png)).data)).toEqual([10, 20, 30, 200, 100, 50]);
  });

  it('does not apply EXIF orientation and does not shrink on load', async () => {
    const c = loadManifest().cases.find((x) => x.source.startsWith('exif-rot6'))!;
    const img = await decodeImage(fixtureBytes('sources', c.source));
    expect([img.width, img.height]).toEqual([240, 120]);
    const big = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    const decoded = await decodeImage(big);
    expect([decoded.width, decoded.height]).toEqual([4000, 3000]);
  });
});

describe('decodeImage: refusing bad input', () => {
  it('names a zero-byte input', async () => {
    const e = await decodeError(new Uint8Array(0));
    expect(e.code).toBe('empty_input');
    expect(e.message).toMatch(/empty \(0 bytes\)/);
  });

  it('reports truncated JPEG and PNG files as corrupt', async () => {
    const jpg = fixtureBytes('sources', 'photo-1920x1080.jpg');
    const png = fixtureBytes('sources', 'rgb-800x600.png');
    for (const cut of [jpg.subarray(0, jpg.length >> 1), jpg.subarray(0, 700), png.subarray(0, png.length >> 1)]) {
      const e = await decodeError(cut);
      expect(e.code).toBe('corrupt_image');
      expect(e.message).toMatch(/corrupt or truncated/);
    }
  });

  it('names unknown and unsupported formats and lists the supported ones', async () => {
    const text = await decodeError(Buffer.from('hello, this is not an image'));
    expect(text.code).toBe('unsupported_format');
    expect(text.message).toMatch(/unrecognised data \(first bytes: 68 65 6c 6c/);
    expect(text.message).toMatch(/JPEG, PNG, GIF, WebP, TIFF/);
    expect((await decodeError(Buffer.from('BM\x36\x00\x00\x00'))).message).toMatch(/format: BMP/);
    expect((await decodeError(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).message).toMatch(/SVG/);
    expect((await decodeError(Buffer.from('\x00\x00\x00\x1cftypavif0000'))).message).toMatch(/AVIF/);
  });

  it('refuses a 30000×30000 declaration from the header alone, quickly', async () => {
    const bomb = pngDeclaring(30000, 30000);
    expect(bomb.length).toBeLessThan(2000);
    const t0 = performance.now();
    const e = await decodeError(bomb);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(e.code).toBe('too_many_pixels');
    expect(e.message).toMatch(/30000×30000 = 900,000,000 pixels, above the limit of 50,000,000/);
  });

  it('enforces caller limits on bytes and pixels', async () => {
    const png = fixtureBytes('sources', 'rgb-800x600.png');
    expect((await decodeError(png, { maxBytes: 1000 })).code).toBe('too_large');
    expect((await decodeError(png, { maxPixels: 800 * 600 - 1 })).code).toBe('too_many_pixels');
    expect((await decodeImage(png, { maxPixels: 800 * 600 })).width).toBe(800);
    expect((await decodeError(png, { maxPixels: -1 })).code).toBe('invalid_argument');
  });

  it('never throws anything but PreprocessError on mangled files', async () => {
    const sources = [fixtureBytes('sources', 'tiny-50x30.png'), fixtureBytes('sources', 'exif-rot6-240x120.jpg')];
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let refused = 0;
    for (let trial = 0; trial < 60; trial++) {
      const bytes = Uint8Array.from(sources[trial % 2]);
      for (let k = 0; k < 1 + rand(8); k++) bytes[8 + rand(bytes.length - 8)] = rand(256);
      try {
        const img = await decodeImage(bytes.subarray(0, bytes.length - rand(64)));
        expect(img.data.length).toBe(img.width * img.height * 3);
      } catch (e) {
        expect(e).toBeInstanceOf(PreprocessError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});
