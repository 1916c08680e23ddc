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
const steps = Number(process.env.IVL_BENCH_STEPS ?? 24);

function bar(label: string) {
  const b = new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total}`, stream: process.stderr }, Presets.shades_classic);
  return b;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Best-of-N read bandwidth with the same number of threads onnxruntime uses (our C probe, compiled here). */
function readBandwidthGBs(): number {
  const bin = join(root, '.cache', 'membw');
  mkdirSync(join(root, '.cache'), { recursive: true });
  if (!existsSync(bin)) execFileSync('gcc', ['-O3', '-march=native', '-fopenmp', join(root, 'bench', 'model', 'membw.c'), '-o', bin]);
  let best = 0;
  for (let i = 0; i < 3; i++) {
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
    // Decode at a 256-token context.
    await r.forward(randomHidden(m, 256, rng), [{ seq: 'd', start: 0, length: 256 }]);
    const times: number[] = [];
    const db = bar(`decode ${dtype}`);
    db.start(steps + 4, 0);
    for (let i = 0; i < steps + 4; i++) {
      const h = randomHidden(m, 1, rng);
      const s = performance.now();
      await r.forward(h, [{ seq: 'd', start: 256 + i, length: 1 }]);
      if (i >= 4) times.push(performance.now() - s);
      db.update(i + 1);
    }
    db.stop();
    const bytes = layerBytes(m);
    const floorMs = (bytes / (bw * 1e9)) * 1000;
    const ms = median(times);
    rows.push(`| ${dtype} | ${(bytes / 1e9).toFixed(2)} GB | ${ms.toFixed(1)} ms | ${(1000 / ms).toFixed(1)} | ${floorMs.toFixed(1)} ms | ${((100 * floorMs) / ms).toFixed(0)}% |`);
    r.release('d');
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
    `Decode step of the 36-layer stack (one token, 256 positions of context, median of ${steps}); the floor is the layers' weight bytes read once per token ÷ the read bandwidth measured in the same run (${bw.toFixed(1)} GB/s, best of 3 × 10 passes of a ${threads}-thread C probe, \`bench/model/membw.c\`):`,
    '',
    '| weights | bytes/token | step | tokens/s | bandwidth floor | share of floor |',
    '|---|---|---|---|---|---|',
    ...rows,
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
