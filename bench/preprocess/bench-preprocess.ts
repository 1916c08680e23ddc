/**
 * `npm run bench:preprocess`: decode + tiling + normalisation per image, ours against the Pillow reference on the
 * same files. Inputs are synthetic (smooth gradients with hard edges) and written with sharp to a temp dir.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage, imageToTensor, loadImage } from '@ivl/preprocess';
import { timePillow } from './pil-reference';

export interface BenchOptions {
  /** Timed runs per image; the median is reported. Default 21. */
  runs?: number;
  warmup?: number;
}

interface Input {
  label: string;
  file: string;
}

function scene(width: number, height: number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const edge = (x >> 6) % 5 === 0 && (y >> 6) % 4 === 0;
      px[i] = edge ? 255 : Math.round(127.5 + 127.5 * Math.sin((x + 0.4 * y) / 97));
      px[i + 1] = edge ? 0 : Math.round((255 * y) / (height - 1));
      px[i + 2] = Math.round((255 * x) / (width - 1)) ^ (edge ? 255 : 0);
    }
  }
  return px;
}

async function writeInputs(dir: string): Promise<Input[]> {
  const jpg = join(dir, 'photo-1920x1080.jpg');
  const png = join(dir, 'rgb-800x600.png');
  await sharp(scene(1920, 1080), { raw: { width: 1920, height: 1080, channels: 3 } }).jpeg({ quality: 90 }).toFile(jpg);
  await sharp(scene(800, 600), { raw: { width: 800, height: 600, channels: 3 } }).png().toFile(png);
  return [
    { label: '1920×1080 JPEG', file: jpg },
    { label: '800×600 PNG', file: png },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

interface OurTiming {
  ms: number;
  decodeMs: number;
  tilesMs: number;
  reusedMs: number;
  numTiles: number;
}

async function timeOurs(bytes: Uint8Array, runs: number, warmup: number): Promise<OurTiming> {
  const total: number[] = [];
  const decode: number[] = [];
  const tiles: number[] = [];
  const reused: number[] = [];
  const out = new Float32Array(13 * 3 * 448 * 448);
  let numTiles = 0;
  for (let r = 0; r < warmup + runs; r++) {
    const t0 = performance.now();
    numTiles = (await loadImage(bytes)).numTiles;
    const t1 = performance.now();
    const img = await decodeImage(bytes);
    const t2 = performance.now();
    imageToTensor(img);
    const t3 = performance.now();
    await loadImage(bytes, { out });
    const t4 = performance.now();
    if (r < warmup) continue;
    total.push(t1 - t0);
    decode.push(t2 - t1);
    tiles.push(t3 - t2);
    reused.push(t4 - t3);
  }
  return { ms: median(total), decodeMs: median(decode), tilesMs: median(tiles), reusedMs: median(reused), numTiles };
}

export async function benchPreprocess(opts: BenchOptions = {}): Promise<{ markdown: string }> {
  const runs = opts.runs ?? 21;
  const warmup = opts.warmup ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'ivl-bench-preprocess-'));
  try {
    const inputs = await writeInputs(dir);
    const ours: OurTiming[] = [];
    for (const input of inputs) ours.push(await timeOurs(new Uint8Array(readFileSync(input.file)), runs, warmup));
    const pil = timePillow(inputs.map((i) => i.file), runs, warmup);
    const fmt = (ms: number) => ms.toFixed(1);
    const lines = [
      `Image preprocessing (decode + tiling + normalisation), median of ${runs} runs after ${warmup} warm-up`,
      '',
      '| Image | Tiles | Ours (ms) | decode (ms) | tiles + normalise (ms) | Ours, reused output (ms) ' +
        '| Pillow (ms) | Pillow / ours |',
      '|---|---|---|---|---|---|---|---|',
    ];
    inputs.forEach((input, k) => {
      const o = ours[k];
      const p = pil?.[input.file];
      if (p && p.tiles !== o.numTiles) throw new Error(`${input.label}: ${o.numTiles} tiles, Pillow ${p.tiles}`);
      const pCell = p ? fmt(p.ms) : 'n/a';
      const ratio = p ? `${(p.ms / o.ms).toFixed(2)}×` : 'n/a';
      lines.push(
        `| ${input.label} | ${o.numTiles} | ${fmt(o.ms)} | ${fmt(o.decodeMs)} | ${fmt(o.tilesMs)} ` +
          `| ${fmt(o.reusedMs)} | ${pCell} | ${ratio} |`,
      );
    });
    lines.push('');
    lines.push('"Reused output": loadImage with `out`, a Float32Array kept across calls (no fresh 20–30 MB tensor).');
    lines.push(
      pil
        ? 'Pillow reference: Image.open().convert("RGB"), the card\'s dynamic_preprocess, numpy float32 normalisation.'
        : 'Pillow reference skipped: /usr/bin/python3 with PIL and numpy is not available.',
    );
    return { markdown: lines.join('\n') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
