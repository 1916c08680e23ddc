/**
 * `npm run bench:decode`: the decode step of the whole 36-layer `4b` stack (int4) over the in-place slot KV
 * cache, at 16 / 256 / 1,024 / 3,400 positions of context, for 1 and for 8 streams in one batched step; and the
 * same at 3,400 with the fp16 KV cache. The past is seeded without a prefill (its values do not change the cost of
 * a step), so the run takes minutes, not the hour 8 × 3,400 prefilled positions would take on 2 cores.
 * Env: IVL_BENCH_BUNDLE (an int4 bundle dir, else converted from IVL_BENCH_MODEL or models/4b),
 * IVL_BENCH_THREADS (2), IVL_BENCH_ROUNDS (4), IVL_BENCH_STEPS (3 timed steps of each kind per round and context).
 */
import { BundleManifest } from '@ivl/compiler';
import { Admission } from '@ivl/engine-core';
import { ActType, LayerRangeRunner } from '@ivl/runtime';
import { Rng, f32ToF16 } from '@ivl/tensor';
import { machineLine, writeBenchSection } from '../benchmarks-file';
import { benchBundle } from './bench-bundle';

const threads = Number(process.env.IVL_BENCH_THREADS ?? 2);
const steps = Number(process.env.IVL_BENCH_STEPS ?? 3);
const rounds = Number(process.env.IVL_BENCH_ROUNDS ?? 4);
const contexts = [16, 256, 1024, 3400];

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];

/**
 * Step times at each context for 1 stream and for 8 streams, interleaved: every round visits every context and,
 * within it, alternates 1-stream and 8-stream steps, so the load of this shared machine falls on all of them alike.
 * The 8 sequences are seeded with `context` positions held (zeros: values do not change a step's cost); the
 * 1-stream step is the first of them alone, a window of one slot.
 */
async function measure(r: LayerRangeRunner, m: BundleManifest, ctxs: number[], rounds: number, rng: Rng): Promise<Map<string, number[]>> {
  const H = m.config.llm.hiddenSize;
  const times = new Map<string, number[]>();
  const hiddenRows = (n: number) => {
    const v = rng.fillNormal(new Float32Array(n * H));
    return m.activationType === 'float32' ? v : f32ToF16(v);
  };
  for (let round = 0; round < rounds; round++) {
    for (const c of ctxs) {
      const ids = Array.from({ length: 8 }, (_, i) => `s${i}`);
      const pos = new Map(ids.map((s) => [s, c]));
      for (const seq of ids) {
        r.kv.prepare([{ seq, start: 0, length: c }]);
        r.kv.commit(seq, c);
      }
      const step = async (n: number, timed: boolean) => {
        const batch = ids.slice(0, n);
        const h = hiddenRows(n);
        const t0 = performance.now();
        await r.forward(h, batch.map((seq) => ({ seq, start: pos.get(seq)!, length: 1 })));
        const ms = performance.now() - t0;
        batch.forEach((s) => pos.set(s, pos.get(s)! + 1));
        if (!timed) return;
        const key = `${c}/${n}`;
        times.set(key, [...(times.get(key) ?? []), ms]);
      };
      await step(8, false);
      await step(1, false);
      for (let i = 0; i < steps; i++) {
        await step(1, true);
        await step(8, true);
      }
      ids.forEach((s) => r.release(s));
      console.error(`round ${round + 1}/${rounds}, context ${c}: ` + [1, 8].map((n) => `${n} → ${quantile(times.get(`${c}/${n}`)!, 0.5).toFixed(1)} ms`).join(', '));
    }
  }
  return times;
}

/**
 * A burst of 16 requests of 3,400 prompt positions + 16 new tokens against a KV budget: admission (the engine
 * core's, counting slots × the longest reservation) starts what fits, the rest wait; each admitted wave decodes as
 * one batch. Returns the peak resident KV bytes and the peak RSS growth over the process before the burst.
 */
async function burst(r: LayerRangeRunner, m: BundleManifest, rng: Rng): Promise<{ peakKv: number; rssBefore: number; rssPeak: number; waves: number[] }> {
  const H = m.config.llm.hiddenSize;
  const admission = new Admission(r.kv.capacityTokens);
  const reserve = 3400 + 16;
  const waiting = Array.from({ length: 16 }, (_, i) => `burst${i}`);
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  let peakKv = 0;
  const waves: number[] = [];
  while (waiting.length) {
    const wave: string[] = [];
    while (waiting.length && admission.tryAcquire(reserve)) wave.push(waiting.shift()!);
    waves.push(wave.length);
    for (const seq of wave) {
      r.kv.prepare([{ seq, start: 0, length: 3400 }]);
      r.kv.commit(seq, 3400);
    }
    for (let i = 0; i < 16; i++) {
      const v = rng.fillNormal(new Float32Array(wave.length * H));
      await r.forward(m.activationType === 'float32' ? v : f32ToF16(v), wave.map((seq) => ({ seq, start: 3400 + i, length: 1 })));
      peakKv = Math.max(peakKv, r.kv.residentBytes);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    for (const seq of wave) {
      r.release(seq);
      admission.release(reserve);
    }
  }
  return { peakKv, rssBefore, rssPeak, waves };
}

async function main() {
  const t0 = Date.now();
  const { dir, manifest: m } = benchBundle('4b');
  const L = m.config.llm.numLayers;
  const rng = new Rng(9);
  const rows: string[] = [];
  const ratios: string[] = [];
  // 8 slots × 3,584 positions × 72 KiB (fp32) ≈ 1.97 GiB must fit; the burst then runs against the same budget.
  const budget = 2.5 * 2 ** 30;
  let burstLine = '';
  for (const kvType of ['float32', 'float16'] as ActType[]) {
    const r = await LayerRangeRunner.create(dir, m, 0, L, { threads, kvType, kvBudgetBytes: budget });
    const ctxs = kvType === 'float32' ? contexts : [16, 3400];
    const times = await measure(r, m, ctxs, rounds, rng);
    const med = (c: number, n: number) => quantile(times.get(`${c}/${n}`)!, 0.5);
    for (const c of ctxs) {
      for (const n of [1, 8]) {
        const t = times.get(`${c}/${n}`)!;
        rows.push(`| ${kvType === 'float32' ? 'fp32' : 'fp16'} | ${c} | ${n} | ${quantile(t, 0.25).toFixed(1)} ms | ${med(c, n).toFixed(1)} ms | ${((n * 1000) / med(c, n)).toFixed(1)} |`);
      }
      ratios.push(`| ${kvType === 'float32' ? 'fp32' : 'fp16'} | ${c} | ${(med(c, 1) / med(16, 1)).toFixed(2)} | ${((8 * med(c, 1)) / med(c, 8)).toFixed(2)}× |`);
    }
    if (kvType === 'float32') {
      const b = await burst(r, m, rng);
      const gib = (x: number) => `${(x / 2 ** 30).toFixed(2)} GiB`;
      burstLine = `Burst of 16 requests (3,400 prompt positions + 16 new tokens each) against a KV budget of ${gib(budget)} (fp32 KV, ${r.kv.capacityTokens} positions): admission started them in waves of ${b.waves.join(' + ')}; peak resident KV ${gib(b.peakKv)} (${((100 * b.peakKv) / budget).toFixed(0)}% of the budget); process RSS ${gib(b.rssBefore)} before the burst (weights, graphs) and ${gib(b.rssPeak)} at its peak, i.e. +${gib(b.rssPeak - b.rssBefore)}.`;
      console.error(burstLine);
    }
    await r.close();
  }
  const md = [
    '## Decode step over the in-place KV cache (`npm run bench:decode`)',
    '',
    `Command: \`npm run bench:decode\` (IVL_BENCH_THREADS=${threads}, IVL_BENCH_STEPS=${steps}). Machine: ${machineLine()}. Model: the \`4b\` preset, int4 weights (block 128), all ${L} layers in one \`LayerRangeRunner\`, ${threads} onnxruntime threads; the step is one token per stream, the 8 streams in one batched pass over one window of slots. ${rounds} rounds, each visiting every context and alternating ${steps} 1-stream and ${steps} 8-stream steps after one warm-up of each (so the shared machine's load falls on all alike); medians of the ${rounds * steps} timed steps of each kind, all in one run (${((Date.now() - t0) / 60000).toFixed(1)} min).`,
    '',
    '| KV cache | context | streams | step (p25) | step (median) | tokens/s (median) |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Ratios from the medians above (targets: step at 3,400 ÷ step at 16 ≤ 1.2 for one stream; 8 streams ÷ 1 stream ≥ 2.5× at 3,400 and ≥ 3× at 256). Before this change (issue 9, same machine): 1-stream step 142 ms at 16, 188 ms at 1,024, 364 ms at 3,400 (ratio 2.56); 8 streams gave 2.6× / 1.06× / 0.78× at 16 / 1,024 / 3,400.',
    '',
    '| KV cache | context | 1-stream step ÷ step at 16 | aggregate tokens/s 8 ÷ 1 |',
    '|---|---|---|---|',
    ...ratios,
    '',
    burstLine,
  ].join('\n');
  writeBenchSection('decode', md);
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
