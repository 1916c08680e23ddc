/**
 * `npm run bench:model`: on the full-size `4b` preset (generated once into models/4b), the decode-step time of the
 * 36-layer stack in fp32, int8 and int4 next to the memory-bandwidth floor measured in the same run, prefill
 * tokens/s for 256- and 3,328-token prompts, and vision time per tile. Writes BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeModel } from '@ivl/checkpoint';
import { BundleManifest, WeightFormat, ensureBundle } from '@ivl/compiler';
import { LayerRangeRunner, VisionRunner, allocAct } from '@ivl/runtime';
import { Rng, f32ToF16 } from '@ivl/tensor';
import { SingleBar, Presets } from 'cli-progress';
import { machineLine, writeBenchSection } from '../benchmarks-file';

const root = resolve(__dirname, '..', '..');
const model = resolve(process.env.IVL_BENCH_MODEL ?? join(root, 'models', '4b'));
const dtypes = (process.env.IVL_BENCH_DTYPES ?? 'int4,int8,fp32').split(',') as WeightFormat[];
const threads = Number(process.env.IVL_BENCH_THREADS ?? 2);
const steps = Number(process.env.IVL_BENCH_STEPS ?? 20);

function bar(label: string) {
  const b = new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total}`, stream: process.stderr }, Presets.shades_classic);
  return b;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))];
}
const median = (xs: number[]) => quantile(xs, 0.5);

/** Best-of-N read bandwidth with the same number of threads onnxruntime uses (our C probe, compiled here). */
function readBandwidthGBs(tries = 3): number {
  const bin = join(root, '.cache', 'membw');
  mkdirSync(join(root, '.cache'), { recursive: true });
  if (!existsSync(bin)) execFileSync('gcc', ['-O3', '-march=native', '-fopenmp', join(root, 'bench', 'model', 'membw.c'), '-o', bin]);
  let best = 0;
  for (let i = 0; i < tries; i++) {
    const out = execFileSync(bin, ['2048', '10'], { env: { ...process.env, OMP_NUM_THREADS: String(threads) }, encoding: 'utf8' });
    best = Math.max(best, Number(out.split(' ')[0]));
  }
  return best;
}

function layerBytes(m: BundleManifest): number {
  return Object.entries(m.tensors)
    .filter(([k]) => /^llm\.\d+\./.test(k))
    .reduce((a, [, t]) => a + t.length, 0);
}

function randomHidden(m: BundleManifest, rows: number, rng: Rng) {
  const v = rng.fillNormal(new Float32Array(rows * m.config.llm.hiddenSize));
  return m.activationType === 'float32' ? v : f32ToF16(v);
}

async function main() {
  const t0 = Date.now();
  if (!existsSync(join(model, 'config.json'))) {
    const b = bar('make-model 4b (MB)');
    b.start(7425, 0);
    makeModel({ preset: '4b', out: model, seed: 1, onProgress: (d) => b.update(Math.round(d / 1e6)) });
    b.stop();
  }
  const bw = readBandwidthGBs();
  console.error(`read bandwidth (${threads} threads): ${bw.toFixed(1)} GB/s`);
  const rows: string[] = [];
  const prefillRows: string[] = [];
  const contextRows: string[] = [];
  let visionLine = '';
  const rng = new Rng(5);
  for (const dtype of dtypes) {
    const b = bar(`convert ${dtype} (MB)`);
    let started = false;
    const { dir, manifest: m } = ensureBundle(model, {
      dtype,
      onProgress: (d, total) => {
        if (!started) b.start(Math.round(total / 1e6), 0);
        started = true;
        b.update(Math.round(d / 1e6));
      },
    });
    if (started) b.stop();
    const L = m.config.llm.numLayers;
    const r = await LayerRangeRunner.create(dir, m, 0, L, { threads, disablePrepacking: dtype === 'fp32', kvBudgetBytes: 8 * 2 ** 30 });
    // Decode steps at a 256-token context (and, for int4, at 16 and 1,024 to show what the KV cache costs).
    const decodeAt = async (context: number, seq: string) => {
      await r.forward(randomHidden(m, context, rng), [{ seq, start: 0, length: context }]);
      const times: number[] = [];
      const db = bar(`decode ${dtype} @${context}`);
      db.start(steps + 4, 0);
      for (let i = 0; i < steps + 4; i++) {
        const h = randomHidden(m, 1, rng);
        const s = performance.now();
        await r.forward(h, [{ seq, start: context + i, length: 1 }]);
        if (i >= 4) times.push(performance.now() - s);
        db.update(i + 1);
      }
      db.stop();
      r.release(seq);
      return times;
    };
    // The VM is shared: three rounds, each with its own bandwidth probe just before; the quietest round counts.
    let best = { p25: Infinity, median: 0, bw: 0 };
    for (let round = 0; round < 3; round++) {
      const roundBw = readBandwidthGBs(1);
      const t = await decodeAt(256, `d${round}`);
      if (quantile(t, 0.25) < best.p25) best = { p25: quantile(t, 0.25), median: median(t), bw: Math.max(roundBw, bw) };
    }
    const bytes = layerBytes(m);
    const floorMs = (bytes / (best.bw * 1e9)) * 1000;
    const { p25, median: ms } = best;
    rows.push(`| ${dtype} | ${(bytes / 1e9).toFixed(2)} GB | ${p25.toFixed(1)} ms | ${ms.toFixed(1)} ms | ${(1000 / p25).toFixed(1)} | ${best.bw.toFixed(1)} GB/s → ${floorMs.toFixed(1)} ms | ${((100 * floorMs) / p25).toFixed(0)}% |`);
    if (dtype === 'int4') {
      for (const c of [16, 256, 1024]) {
        const p = quantile(await decodeAt(c, `c${c}`), 0.25);
        contextRows.push(`| ${c} | ${p.toFixed(1)} ms |`);
      }
    }
    // Prefill throughput on fresh sequences.
    for (const n of dtype === 'fp32' ? [256] : [256, 3328]) {
      const h = randomHidden(m, n, rng);
      const s = performance.now();
      await r.forward(h, [{ seq: `p${n}`, start: 0, length: n }]);
      const sec = (performance.now() - s) / 1000;
      prefillRows.push(`| ${dtype} | ${n} | ${sec.toFixed(2)} s | ${(n / sec).toFixed(0)} |`);
      r.release(`p${n}`);
    }
    await r.close();
    if (!visionLine && dtype !== 'fp32') {
      const v = await VisionRunner.create(dir, m, { threads, maxTilesPerRun: 1 });
      const px = rng.fillNormal(new Float32Array(3 * 448 * 448));
      await v.run(px, 1);
      const vt: number[] = [];
      for (let i = 0; i < 3; i++) {
        const s = performance.now();
        await v.run(px, 1);
        vt.push(performance.now() - s);
      }
      visionLine = `Vision (InternViT-300M + pixel shuffle + mlp1, ${dtype} bundle: 8-bit weights): **${(median(vt) / 1000).toFixed(2)} s per 448×448 tile** (median of 3, ${threads} threads); a 13-tile image therefore costs ≈ ${((13 * median(vt)) / 1000).toFixed(0)} s on this CPU.`;
      await v.close();
    }
    void allocAct;
  }
  const md = [
    '## Model core (`npm run bench:model`)',
    '',
    `Command: \`npm run bench:model\` (env: IVL_BENCH_THREADS=${threads}, IVL_BENCH_DTYPES=${dtypes.join(',')}). Machine: ${machineLine()}. Model: the \`4b\` preset (InternVL2.5-4B dimensions, random weights), onnxruntime-node 1.30 CPU provider, ${threads} intra-op threads. Total run ${((Date.now() - t0) / 60000).toFixed(1)} min.`,
    '',
    `Decode step of the 36-layer stack (one token, 256 positions of context, 25th percentile and median of ${steps} steps in the quietest of 3 rounds); the floor is the layers' weight bytes read once per token ÷ the read bandwidth measured in the same run, just before each round (best of 10 passes of a ${threads}-thread C probe, \`bench/model/membw.c\`; this shared VM gives 25–55 GB/s from moment to moment, so the share of the floor moves with it):`,
    '',
    '| weights | bytes/token | step (p25) | step (median) | tokens/s (p25) | bandwidth → floor | share of floor (p25) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'int4 decode step against context length (p25): the growth is the KV cache, copied out of onnxruntime on every step (onnxruntime-node returns every output as a fresh copy).',
    '',
    '| context | step |',
    '|---|---|',
    ...contextRows,
    '',
    'Prefill (one pass over the whole prompt through all 36 layers):',
    '',
    '| weights | prompt tokens | time | tokens/s |',
    '|---|---|---|---|',
    ...prefillRows,
    '',
    visionLine,
  ].join('\n');
  writeBenchSection('model', md);
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
