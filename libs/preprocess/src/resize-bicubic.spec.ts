import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeImage } from './decode-image';
import { RgbImage } from './rgb-image';
import { resizeBicubic, resizeBicubicMany } from './resize-bicubic';
import { resizeBicubicScalar } from './resize-scalar';
import { fixtureBytes, loadManifest, maxAbsDiff } from './testing/fixtures';
import { resizeManyWasm } from './wasm/wasm-resize';

function noise(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, data };
}

describe('resizeBicubic against Pillow', () => {
  it('equals PIL resize(BICUBIC) exactly on noise, up and down, one axis and both (scalar and SIMD)', async () => {
    const m = loadManifest().resize;
    const src = await decodeImage(fixtureBytes('sources', m.source));
    const blob = gunzipSync(fixtureBytes(m.expected));
    const wasm = resizeManyWasm(src, m.sizes);
    expect(wasm).not.toBeNull();
    let off = 0;
    m.sizes.forEach(([w, h], i) => {
      const expected = blob.subarray(off, off + w * h * 3);
      off += w * h * 3;
      const scalar = resizeBicubicScalar(src, w, h);
      expect([scalar.width, scalar.height]).toEqual([w, h]);
      expect(maxAbsDiff(scalar.data, expected), `scalar ${w}x${h}`).toBe(0);
      expect(maxAbsDiff(wasm![i].data, expected), `simd ${w}x${h}`).toBe(0);
    });
    expect(off).toBe(blob.length);
  });
});

describe('resizeBicubic', () => {
  it('SIMD kernels and the scalar port agree on random shapes, including 1-pixel and odd widths', () => {
    for (let trial = 0; trial < 40; trial++) {
      const rnd = (n: number) => 1 + ((Math.imul(trial + 1, 2654435761) >>> (n % 13)) % 97);
      const src = noise(rnd(1), rnd(2), trial);
      const targets: [number, number][] = [
        [rnd(3), rnd(4)],
        [src.width, rnd(5)],
        [rnd(6), src.height],
        [1, 1],
      ];
      const fast = resizeBicubicMany(src, targets);
      targets.forEach(([w, h], i) => {
        expect(maxAbsDiff(fast[i].data, resizeBicubicScalar(src, w, h).data), `${src.width}x${src.height}→${w}x${h}`)
          .toBe(0);
      });
    }
  });

  it('returns an independent copy when the size does not change', () => {
    const src = noise(5, 4, 1);
    const out = resizeBicubic(src, 5, 4);
    expect(out.data).toEqual(src.data);
    expect(out.data).not.toBe(src.data);
  });

  it('keeps a constant image constant (weights sum to one) and clamps overshoot to 0..255', () => {
    const flat: RgbImage = { width: 7, height: 5, data: new Uint8Array(7 * 5 * 3).fill(200) };
    expect(resizeBicubic(flat, 23, 2).data.every((v) => v === 200)).toBe(true);
    // A hard 0/255 edge rings past both ends; the clamp keeps values in range and the edge monotone.
    const edge: RgbImage = { width: 8, height: 1, data: new Uint8Array(24) };
    edge.data.fill(255, 12);
    const up = resizeBicubic(edge, 64, 1).data;
    expect(Math.min(...up)).toBe(0);
    expect(Math.max(...up)).toBe(255);
  });

  it('rejects non-positive or fractional targets', () => {
    const src = noise(4, 4, 2);
    expect(() => resizeBicubic(src, 0, 4)).toThrow(/positive integers/);
    expect(() => resizeBicubic(src, 4, 2.5)).toThrow(/positive integers/);
  });
});
