/** Test-only access to libs/preprocess/fixtures, written by tools/fixtures/make_pil_fixtures.py from Pillow. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

export const FIXTURE_DIR = join(__dirname, '..', '..', 'fixtures');

export interface ImageCase {
  source: string;
  note: string;
  format: string;
  pilMode: string;
  width: number;
  height: number;
  maxNum: number;
  cols: number;
  rows: number;
  numTiles: number;
  expected: string;
  decodedSha256: string;
  /** For lossy sources (JPEG, lossy WebP): Pillow's decoded pixels as a PNG in expected/. */
  decoded: string | null;
}

export interface Manifest {
  pillow: string;
  imageSize: number;
  cases: ImageCase[];
  resize: { source: string; expected: string; sizes: [number, number][] };
  candidateOrders: Record<string, [number, number][]>;
  normalizeLut: number[][];
}

let manifest: Manifest | undefined;

export function loadManifest(): Manifest {
  manifest ??= JSON.parse(readFileSync(join(FIXTURE_DIR, 'manifest.json'), 'utf8')) as Manifest;
  return manifest;
}

export function fixtureBytes(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURE_DIR, ...parts)));
}

/** Pillow's tiles for one case: a PNG with the 448×448 tiles stacked vertically, as raw RGB. */
export async function expectedTiles(c: ImageCase): Promise<Uint8Array> {
  return (await expectedImage(c.expected)).data;
}

/** A fixture PNG from expected/ as an RgbImage. */
export async function expectedImage(file: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { data, info } = await sharp(join(FIXTURE_DIR, 'expected', file)).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${file}: expected RGB, got ${info.channels} channels`);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { width: info.width, height: info.height, data: bytes };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m) m = d;
  }
  return m;
}
