/**
 * What stage 0's event loop and memory go through when many large images arrive at once: N concurrent
 * prepareInput calls (7000×7000 JPEGs by default) while a 10 ms-resolution event-loop-delay histogram runs.
 * Prints the loop delay percentiles, the peak RSS of the process (VmHWM) and the wall time.
 *
 *   node tools/run-ts.mjs bench/preprocess/image-load.ts [--images 8] [--size 7000] [--threads 0|N]
 *
 * --threads 0 runs the preprocessing on the calling thread (decodes still bounded); N uses a MediaPool of N threads.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import sharp from 'sharp';
import { parseModelConfig } from '@ivl/checkpoint';
import { MediaPool } from '@ivl/preprocess';
import { loadTokenizer } from '@ivl/prompt';
import { prepareInput } from '@ivl/requests';
import { tinyCheckpoint } from '@ivl/test-support';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A noisy JPEG (noise keeps the encoded size realistic), cached in the temp dir between runs. */
async function largeJpeg(size: number, seed: number): Promise<Uint8Array> {
  const file = join(tmpdir(), `ivl-image-load-${size}-${seed}.jpg`);
  if (existsSync(file)) return new Uint8Array(readFileSync(file));
  const bytes = await sharp({ create: { width: size, height: size, channels: 3, background: { r: 40 * seed, g: 120, b: 200 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg({ quality: 90 })
    .toBuffer();
  writeFileSync(file, bytes);
  return new Uint8Array(bytes);
}

function peakRssMb(): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const images = arg('images', 8);
  const size = arg('size', 7000);
  const threads = arg('threads', 0);
  const dir = tinyCheckpoint();
  const tok = await loadTokenizer(dir);
  const config = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const inputs = await Promise.all(Array.from({ length: images }, (_, i) => largeJpeg(size, (i % 4) + 1)));
  const pool = threads > 0 ? new MediaPool({ threads }) : undefined;
  const baseRss = process.memoryUsage().rss / 2 ** 20;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const t0 = Date.now();
  const results = await Promise.all(inputs.map((data) => prepareInput(tok, config, { question: 'Describe the image.', images: [{ data }] }, undefined, pool)));
  const wallMs = Date.now() - t0;
  delay.disable();
  await pool?.close();
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  console.log(
    JSON.stringify({
      images,
      size,
      threads,
      tilesEach: results[0].numTiles,
      wallMs,
      loopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      rssBeforeMb: Math.round(baseRss),
      peakRssMb: Math.round(peakRssMb()),
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
