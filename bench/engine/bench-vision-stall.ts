/**
 * `npm run bench:vision-stall`: what an image's vision pass does to the answers already running. Four streams
 * decode through the engine core as a worker wires it; an image of IVL_BENCH_TILES tiles (default 2) is then
 * encoded on the same stage thread, once with the encoder as one call per tile (`--vision-parts 1`) and once split
 * into parts (IVL_BENCH_PARTS, default 6: the CPU default), each setting on a stage thread of its own, in one run.
 * Reported: the streams' undisturbed gap, their largest gap while the image was encoded, and the vision time.
 *
 * Env: IVL_BENCH_BUNDLE / IVL_BENCH_MODEL / IVL_BENCH_PRESET (4b), IVL_BENCH_THREADS (2), IVL_BENCH_TILES (2),
 * IVL_BENCH_PARTS (6), IVL_BENCH_ROUNDS (2), IVL_BENCH_WRITE (1: write BENCHMARKS.md; 0 = print only).
 */
import { loadavg } from 'node:os';
import { IvlTokenizer, loadTokenizer } from '@ivl/prompt';
import { prepareInput } from '@ivl/requests';
import { StageSetup, WORKER_DEFAULTS, setUpStage, wireEngineCore } from '@ivl/worker-node';
import { machineLine, writeBenchSection } from '../benchmarks-file';
import { benchBundle } from './bench-bundle';
import { median } from './inter-token-gaps';
import { Streams } from './timed-streams';

const env = process.env;
const preset = env.IVL_BENCH_PRESET ?? '4b';
const threads = Number(env.IVL_BENCH_THREADS ?? 2);
const tiles = Number(env.IVL_BENCH_TILES ?? 2);
const splitParts = Number(env.IVL_BENCH_PARTS ?? 6);
const rounds = Number(env.IVL_BENCH_ROUNDS ?? 2);
const progress = (msg: string) => console.error(`[bench:vision-stall ${new Date().toISOString().slice(11, 19)}] ${msg}`);

interface StallResult {
  parts: number;
  round: number;
  undisturbedMs: number;
  largestMs: number;
  visionMs: number;
}

async function stall(s: StageSetup, tok: IvlTokenizer, parts: number, round: number, prompts: number[][]): Promise<StallResult> {
  const { scheduler } = wireEngineCore(s.model, undefined, WORKER_DEFAULTS, { hidden: s.info.hidden, vocab: s.info.vocab, numStages: 1 }, {
    onRelease: (q) => void s.model.release([q.id]).catch(() => undefined),
  });
  const streams = new Streams(s, tok);
  const times = prompts.map(() => [] as number[]);
  const seqs = prompts.map((ids, i) => streams.start(`r${round}-p${parts}-s${i}`, ids, 100_000, times[i]));
  seqs.forEach((q) => scheduler.add(q));
  await streams.until(() => times.every((t) => t.length >= 8));
  const S = s.manifest.config.vision.imageSize;
  const pixels = Float32Array.from({ length: tiles * 3 * S * S }, (_, i) => Math.sin(i * 0.37 + round));
  const t0 = performance.now();
  await s.model.vision(pixels, tiles);
  const t1 = performance.now();
  await streams.until(() => times.every((t) => t[t.length - 1] > t1));
  seqs.forEach((q) => scheduler.cancel(q));
  await Promise.all(seqs.map((q) => q.done));
  const gaps = (keep: (a: number, b: number) => boolean) => times.flatMap((t) => t.slice(1).map((b, k) => [t[k], b] as const).filter(([a, b]) => keep(a, b)).map(([a, b]) => b - a));
  const before = gaps((a, b) => b <= t0).slice(-4 * prompts.length);
  const during = gaps((a, b) => b > t0 && a < t1);
  await new Promise((r) => setTimeout(r, 100)); // the releases reach the stage thread
  return { parts, round, undisturbedMs: median(before), largestMs: Math.max(...during), visionMs: t1 - t0 };
}

async function main() {
  const t0 = Date.now();
  const { dir, manifest } = benchBundle(preset);
  const settings = [1, splitParts];
  const setups = new Map<number, StageSetup>();
  for (const parts of settings) {
    progress(`stage thread with the encoder in ${parts} part(s)`);
    setups.set(parts, await setUpStage({ ...WORKER_DEFAULTS, model: dir, dtype: manifest.dtype, plan: 'card:1', stage: 0, peers: ['127.0.0.1:0'], threads, visionParts: parts, pipelineId: `bench-vision-${parts}`, log: progress }));
  }
  const tok = await loadTokenizer(manifest.source.dir);
  const prompts = await Promise.all(['rivers', 'mountains', 'harbours', 'forests'].map(async (t) => (await prepareInput(tok, manifest.config, { question: `Tell me a long story about ${t}.` })).ids));
  const loads = [loadavg()[0]];
  const results: StallResult[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const parts of round % 2 ? [...settings].reverse() : settings) {
      const r = await stall(setups.get(parts)!, tok, parts, round, prompts);
      results.push(r);
      loads.push(loadavg()[0]);
      progress(`round ${round + 1}, ${parts} part(s): undisturbed gap ${r.undisturbedMs.toFixed(0)} ms, largest while encoding ${r.largestMs.toFixed(0)} ms, vision ${(r.visionMs / 1000).toFixed(1)} s`);
    }
  }
  for (const s of setups.values()) await s.model.close();
  const rows = results
    .sort((a, b) => a.parts - b.parts || a.round - b.round)
    .map((r) => `| ${r.parts} | ${r.round + 1} | ${r.undisturbedMs.toFixed(0)} ms | ${r.largestMs.toFixed(0)} ms | ${(r.largestMs / r.undisturbedMs).toFixed(1)} | ${(r.visionMs / 1000).toFixed(2)} s |`);
  const md = [
    '## An image encoded while answers decode (`npm run bench:vision-stall`)',
    '',
    `Command: \`npm run bench:vision-stall\` (IVL_BENCH_PRESET=${preset}, IVL_BENCH_THREADS=${threads}, IVL_BENCH_TILES=${tiles}, IVL_BENCH_PARTS=${splitParts}, IVL_BENCH_ROUNDS=${rounds}${env.IVL_BENCH_BUNDLE ? `, IVL_BENCH_BUNDLE=${env.IVL_BENCH_BUNDLE}` : ''}). Machine: ${machineLine()}; load average (1 min) ${loads.map((x) => x.toFixed(1)).join(' → ')}. Model: the \`${preset}\` preset, ${manifest.dtype} weights, plan card:1, ${threads} onnxruntime threads, the engine core as a worker wires it. 4 streams decode greedily; after 8 tokens each, ${tiles} tiles are encoded on the same stage thread, tile by tile as the driver sends them; the encoder runs as one call per tile (1 part) or as ${splitParts} calls per tile (${splitParts} parts, the CPU default of \`--vision-parts\`), each on its own stage thread, alternating order by round; the whole run took ${((Date.now() - t0) / 60000).toFixed(1)} min.`,
    '',
    '| encoder parts | round | undisturbed gap (median) | largest gap while encoding | largest ÷ undisturbed | vision time |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  if (env.IVL_BENCH_WRITE !== '0') writeBenchSection('vision-stall', md);
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
