/**
 * `npm run bench:pipeline`: on the `4b` preset in int4 — single-stream decode through a 2-stage local pipeline ÷
 * the same graphs in one process; aggregate throughput of 8 concurrent streams ÷ 1; and the hop cost of our
 * transport on loopback next to raw TCP. Writes BENCHMARKS.md.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureBundleLocked } from '@ivl/compiler';
import { planCosts } from '@ivl/requests';
import { startLocalCluster } from '@ivl/local-cluster';
import { parsePlan } from '@ivl/plan';
import { GenerateClient, GenerateJobResult } from '@ivl/queue';
import { ModelRunner } from '@ivl/runtime';
import { machineLine, writeBenchSection } from '../benchmarks-file';
import { benchHops } from './hop-bench';

const root = resolve(__dirname, '..', '..');
const model = resolve(process.env.IVL_BENCH_MODEL ?? join(root, 'models', '4b'));
const dtype = 'int4';
const tokens = Number(process.env.IVL_BENCH_TOKENS ?? 48);
const question = 'Describe a sunny day.';

async function inProcessTokensPerSecond(threads: number): Promise<number> {
  const { dir, manifest } = await ensureBundleLocked(model, { dtype });
  const r = await ModelRunner.create(dir, manifest, parsePlan('card:2', manifest.config.llm.numLayers, planCosts(manifest.config)), { threads });
  const ids = Array.from({ length: 60 }, (_, i) => 1000 + i);
  await r.prefill({ seq: 'b', ids });
  let t = 42;
  const times: number[] = [];
  for (let i = 0; i < tokens + 4; i++) {
    const s = performance.now();
    await r.decode([{ seq: 'b', token: t, position: ids.length + i }]);
    if (i >= 4) times.push(performance.now() - s);
    t = (t * 31 + 7) % 150000;
  }
  return 1000 / (times.reduce((a, b) => a + b, 0) / times.length);
}

async function main() {
  if (!existsSync(join(model, 'config.json'))) throw new Error(`${model} is missing: run npm run bench:model first (it generates the 4b preset)`);
  const hops = await benchHops();
  console.error(`hops: rtt p50 ${hops.rttP50.toFixed(3)} ms, p99 ${hops.rttP99.toFixed(3)} ms, prefill ${hops.prefillMBs.toFixed(0)} MB/s, raw TCP ${hops.tcpMBs.toFixed(0)} MB/s`);
  const base1 = await inProcessTokensPerSecond(1);
  const base2 = await inProcessTokensPerSecond(2);
  console.error(`one process: ${base1.toFixed(2)} tok/s (1 thread), ${base2.toFixed(2)} tok/s (2 threads)`);
  const cluster = await startLocalCluster({ model, stages: 2, plan: 'card', dtype, threads: 1, kvBudgetMb: 1024, queuePrefix: `bench-${process.pid}`, log: () => undefined });
  const client = new GenerateClient(cluster.redisUrl, { prefix: cluster.queuePrefix });
  try {
    await cluster.waitReady(600_000);
    // An empty system message keeps prompts short (≈ 15 tokens), so the measure is about decoding, not prefill.
    const job = (i: number) =>
      client.submit({ input: { system: '', question: `${question} (${i})` }, sampling: { maxNewTokens: tokens, temperature: 0, ignoreEos: true } }).then((id) => client.result(id, 600_000));
    await job(-1); // warm-up
    const one = await job(0);
    const single = one.completionTokens / ((one.timings.decodeMs || 1) / 1000);
    const t0 = performance.now();
    const many: GenerateJobResult[] = await Promise.all(Array.from({ length: 8 }, (_, i) => job(i + 1)));
    const wall = (performance.now() - t0) / 1000;
    const aggregate = many.reduce((a, r) => a + r.completionTokens, 0) / wall;
    const singleWall = one.completionTokens / (one.timings.totalMs / 1000);
    const md = [
      '## Pipeline (`npm run bench:pipeline`)',
      '',
      `Command: \`npm run bench:pipeline\`. Machine: ${machineLine()}. Model: \`4b\` preset, int4 weights (block 128; 8-bit vision and head), plan card:2 (stage 0: layers 0–11 + 35, vision, embeddings, head; stage 1: layers 12–34), two worker processes with **1 onnxruntime thread each** (the machine's 2 cores split 1 + 1), greedy decoding of ${tokens} tokens with ignore_eos, short prompts (empty system message).`,
      '',
      '| measure | value |',
      '|---|---|',
      `| one process, same card:2 graphs, 1 thread (same compute per token as the pipeline) | ${base1.toFixed(2)} tok/s |`,
      `| one process, 2 threads | ${base2.toFixed(2)} tok/s |`,
      `| 2-stage pipeline, 1 stream (decode phase) | ${single.toFixed(2)} tok/s |`,
      `| **pipeline ÷ one process (1 thread)** | **${(single / base1).toFixed(2)}** (target ≥ 0.85) |`,
      `| pipeline ÷ one process (2 threads) | ${(single / base2).toFixed(2)} |`,
      `| 2-stage pipeline, 8 concurrent streams, aggregate (wall clock incl. prefill) | ${aggregate.toFixed(2)} tok/s |`,
      `| 1 stream, same wall-clock measure | ${singleWall.toFixed(2)} tok/s |`,
      `| **8 streams ÷ 1 stream** | **${(aggregate / singleWall).toFixed(2)}×** |`,
      '',
      'Hop cost of the stage transport alone (two relay stages in a ring on loopback, real Forward streams, codec and 1 MiB chunking, no model):',
      '',
      '| measure | value |',
      '|---|---|',
      `| decode-sized round trip (1 × 2048 fp32 = 8 KiB, A → B → A), p50 / p99 | ${hops.rttP50.toFixed(3)} ms / ${hops.rttP99.toFixed(3)} ms |`,
      `| prefill-sized batch (3,400 × 2048 fp32 = 27.9 MB), throughput | ${hops.prefillMBs.toFixed(0)} MB/s |`,
      `| raw loopback TCP, same run | ${hops.tcpMBs.toFixed(0)} MB/s |`,
    ].join('\n');
    writeBenchSection('pipeline', md);
    console.log(md);
  } finally {
    await client.close();
    await cluster.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
