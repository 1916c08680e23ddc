/**
 * `npm run bench:family`: the large sizes on this CPU, at their real dimensions but in slices that fit the machine.
 *  - InternViT-6B (3200 wide, 25 heads, MLP 12800) per 448×448 tile with mlp1 into the 78B's 8192, int8 and fp16
 *    weights: two generated checkpoints with 2 and 6 ViT layers give the time of one layer and of the fixed part
 *    (embeddings, pixel shuffle, mlp1), so the 45-layer tile time is fixed + 45 · layer.
 *  - A decode step of 10 decoder layers of the 78B (hidden 8192, 64/8 heads, MLP 29568) in int4, next to the
 *    memory-bandwidth floor measured in the same run, and the whole-model estimate per plan (card:4, card:8).
 * The slices use a 1,024-token vocabulary (the head is not measured here; its cost is estimated from its bytes).
 * Checkpoints go to IVL_BENCH_DIR (default models-big/) and are deleted after measuring. Writes BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { makeModel } from '@ivl/checkpoint';
import { BundleManifest, WeightFormat, ensureBundle } from '@ivl/compiler';
import { cardPlan } from '@ivl/plan';
import { LayerRangeRunner, VisionRunner } from '@ivl/runtime';
import { Rng, f32ToF16 } from '@ivl/tensor';
import { machineLine, writeBenchSection } from '../benchmarks-file';

const root = resolve(__dirname, '..', '..');
const work = resolve(process.env.IVL_BENCH_DIR ?? join(root, 'models-big'));
const threads = Number(process.env.IVL_BENCH_THREADS ?? 2);
const steps = Number(process.env.IVL_BENCH_STEPS ?? 8);
const sliceLayers = Number(process.env.IVL_BENCH_SLICE_LAYERS ?? 10);
const cache = join(work, 'cache');

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];

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

function generate(name: string, overrides: Record<string, unknown>): string {
  const dir = join(work, name);
  if (!existsSync(join(dir, 'config.json'))) {
    const t = Date.now();
    makeModel({ preset: '78b', out: dir, seed: 1, configOverrides: overrides });
    console.error(`generated ${name} in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  return dir;
}

function convert(dir: string, dtype: WeightFormat): { dir: string; manifest: BundleManifest } {
  const t = Date.now();
  const b = ensureBundle(dir, { dtype, cacheDir: cache });
  if (b.converted) console.error(`converted ${dir} to ${dtype} in ${((Date.now() - t) / 1000).toFixed(0)} s (read ${(b.manifest.stats.bytesRead / 1e9).toFixed(2)} GB, wrote ${(b.manifest.stats.bytesWritten / 1e9).toFixed(2)} GB)`);
  return b;
}

async function tileSeconds(dir: string, dtype: WeightFormat): Promise<number> {
  const { dir: b, manifest } = convert(dir, dtype);
  const v = await VisionRunner.create(b, manifest, { threads, maxTilesPerRun: 1 });
  const px = new Rng(3).fillNormal(new Float32Array(3 * 448 * 448));
  await v.run(px, 1);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    await v.run(px, 1);
    times.push((performance.now() - s) / 1000);
  }
  await v.close();
  rmSync(b, { recursive: true, force: true });
  return quantile(times, 0.5);
}

async function main() {
  const t0 = Date.now();
  const loads: number[] = [];
  const loadTimer = setInterval(() => loads.push(loadavg()[0]), 10_000);
  mkdirSync(work, { recursive: true });
  const smallLlm = { hidden_size: 8192, num_hidden_layers: 1, num_attention_heads: 64, num_key_value_heads: 8, intermediate_size: 128, vocab_size: 1024 };
  const vitRows: string[] = [];
  for (const dtype of ['int8', 'fp16'] as WeightFormat[]) {
    const a = await tileSeconds(generate('vit6b-2', { vision_config: { num_hidden_layers: 2 }, llm_config: smallLlm }), dtype);
    const b = await tileSeconds(generate('vit6b-6', { vision_config: { num_hidden_layers: 6 }, llm_config: smallLlm }), dtype);
    const layer = (b - a) / 4;
    const fixed = a - 2 * layer;
    // Two noisy points make a fragile line; 6-layer time × 45/6 is an upper bound whatever the fixed part is.
    vitRows.push(`| ${dtype} | ${a.toFixed(2)} s | ${b.toFixed(2)} s | ${layer.toFixed(2)} s | ${fixed.toFixed(2)} s | **${(fixed + 45 * layer).toFixed(1)} s** | ${((b * 45) / 6).toFixed(1)} s | ${((13 * (fixed + 45 * layer)) / 60).toFixed(1)} min |`);
    console.error(vitRows.at(-1));
  }
  rmSync(join(work, 'vit6b-2'), { recursive: true, force: true });
  rmSync(join(work, 'vit6b-6'), { recursive: true, force: true });

  // 10 decoder layers of the 78B; tiny vision (the slice measures the LLM only).
  const slice = generate(`l78b-${sliceLayers}`, {
    vision_config: { hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 128, qk_normalization: false, norm_type: 'layer_norm', qkv_bias: true },
    llm_config: { num_hidden_layers: sliceLayers, vocab_size: 1024 },
  });
  const { dir, manifest: m } = convert(slice, 'int4');
  const layerBytes = Object.entries(m.tensors)
    .filter(([k]) => /^llm\.\d+\./.test(k))
    .reduce((a, [, t]) => a + t.length, 0);
  const r = await LayerRangeRunner.create(dir, m, 0, sliceLayers, { threads, kvBudgetBytes: 2 * 2 ** 30 });
  const rng = new Rng(5);
  const act = (rows: number) => {
    const v = rng.fillNormal(new Float32Array(rows * 8192));
    return m.activationType === 'float32' ? v : f32ToF16(v);
  };
  let best = { p25: Infinity, median: 0, bw: 0 };
  for (let round = 0; round < 2; round++) {
    const bw = readBandwidthGBs(round === 0 ? 3 : 1);
    const seq = `d${round}`;
    await r.forward(act(256), [{ seq, start: 0, length: 256 }]);
    const times: number[] = [];
    for (let i = 0; i < steps + 2; i++) {
      const h = act(1);
      const s = performance.now();
      await r.forward(h, [{ seq, start: 256 + i, length: 1 }]);
      if (i >= 2) times.push(performance.now() - s);
    }
    r.release(seq);
    const p25 = quantile(times, 0.25);
    console.error(`round ${round}: p25 ${p25.toFixed(0)} ms, bandwidth ${bw.toFixed(1)} GB/s`);
    if (p25 < best.p25) best = { p25, median: quantile(times, 0.5), bw };
  }
  await r.close();
  const floorMs = (layerBytes / (best.bw * 1e9)) * 1000;
  const perLayer = best.p25 / sliceLayers;
  // The head (151674 × 8192, 8-bit with fp32 scales per block of 32) runs once per token on stage 0.
  const headBytes = 151674 * 8192 * (1 + 4 / 32);
  const headMs = (headBytes / (best.bw * 1e9)) * 1000;
  const planRows = [4, 8].map((g) => {
    const plan = cardPlan(g, 80);
    const counts = plan.stages.map((s) => s.ranges.reduce((a, [x, y]) => a + y - x, 0));
    const latency = 80 * perLayer + headMs;
    const slowest = Math.max(counts[0] * perLayer + headMs, ...counts.slice(1).map((n) => n * perLayer));
    return `| card:${g} | ${counts.join(' / ')} | ${(latency / 1000).toFixed(1)} s | ${(slowest / 1000).toFixed(2)} s | ${(1000 / slowest).toFixed(2)} |`;
  });
  rmSync(dir, { recursive: true, force: true });
  rmSync(slice, { recursive: true, force: true });
  clearInterval(loadTimer);
  const load = `load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the run (other jobs shared the ${cpus().length} cores: times are pessimistic and noisy)`;

  const md = [
    '## The large sizes (`npm run bench:family`)',
    '',
    `Command: \`flock /work/heavy.lock npm run bench:family\` (IVL_BENCH_THREADS=${threads}). Machine: ${machineLine()}. onnxruntime-node CPU provider, ${threads} intra-op threads; random weights at the real dimensions, generated into \`models-big/\` and deleted afterwards. Total run ${((Date.now() - t0) / 60000).toFixed(1)} min; ${load}.`,
    '',
    'InternViT-6B (3200 wide, 25 heads, MLP 12800, RMSNorm and q/k norm) with pixel shuffle and mlp1 into the 78B\'s 8192, one 448×448 tile, median of 3 runs. Measured on 2- and 6-layer checkpoints; one layer = (6-layer − 2-layer) / 4, fixed part = embeddings + pixel shuffle + mlp1; the 45-layer figure is fixed + 45 × layer:',
    '',
    '| weights | 2 layers | 6 layers | per layer | fixed (mlp1 …) | 45 layers (per tile) | upper bound (6-layer × 45/6) | 13-tile image |',
    '|---|---|---|---|---|---|---|---|',
    ...vitRows,
    '',
    `Decode step of ${sliceLayers} decoder layers of the 78B (hidden 8192, 64/8 heads, MLP 29568), int4 weights (block 128), one token at 256 positions of context, ${steps} steps, quietest of 2 rounds. Floor = the slice's weight bytes ÷ the read bandwidth measured just before (the C probe of bench:model):`,
    '',
    '| slice | bytes/token | step (p25) | step (median) | bandwidth → floor | share of floor |',
    '|---|---|---|---|---|---|',
    `| ${sliceLayers} layers int4 | ${(layerBytes / 1e9).toFixed(2)} GB | ${best.p25.toFixed(0)} ms | ${best.median.toFixed(0)} ms | ${best.bw.toFixed(1)} GB/s → ${floorMs.toFixed(0)} ms | ${((100 * floorMs) / best.p25).toFixed(0)}% |`,
    '',
    `Whole-model estimate for the 78B from it (${perLayer.toFixed(1)} ms per layer, plus the 8-bit head at its bandwidth floor, ${headMs.toFixed(0)} ms, on stage 0), if every stage were a CPU like this one: one token's latency is all 80 layers in turn; with at least as many sequences in flight as stages, the pipeline produces one step per slowest stage:`,
    '',
    '| plan | layers per stage | latency per token | slowest stage | pipeline steps/s |',
    '|---|---|---|---|---|',
    ...planRows,
  ].join('\n');
  writeBenchSection('family', md);
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
