/**
 * `npm run bench:prefix`: what the prefix cache saves on a multi-turn image chat. Two figures:
 *
 * 1. Time to first token of a chat's second turn against its first, on the tiny generated model (card:2, fp32, in
 *    one process through the engine core as the driver wires it: scheduler, chunked prefill, prefix cache): the
 *    first turn runs the vision pass of a 13-tile image and prefills ~3,400 positions; the second starts from the
 *    first turn's KV (a copy) and prefills only its new words. The same second turn with the cache off for reference.
 * 2. What a fork costs in the `4b` layout (36 layers, 2 KV heads of 128, fp32 KV): copying 3,400 cached positions
 *    into a new slot of a real SlotKvCache, against the ≈90 s prefill of those positions it replaces on the
 *    benchmark CPU (issue 9's measurement).
 * With IVL_BENCH_PRESET=4b or IVL_BENCH_BUNDLE (an int4 bundle), the first figure at the `4b` dimensions instead,
 * through stage 0 as the driver runs it (see bench-prefix-4b.ts), into a section of its own.
 * Env: IVL_BENCH_THREADS (2), IVL_BENCH_ROUNDS (3; 1 at 4b), IVL_BENCH_OFF (4b: 1 = also turn 2 with the cache off),
 * IVL_BENCH_SEED (4b: the first round's image, 10).
 */
import { ensureBundle } from '@ivl/compiler';
import { inProcessEngine } from '@ivl/engine-core/testing';
import { parsePlan } from '@ivl/plan';
import { loadTokenizer } from '@ivl/prompt';
import { ModelRunner } from '@ivl/runtime';
import { Rng } from '@ivl/tensor';
import { tinyCheckpoint } from '@ivl/test-support';
import { machineLine, writeBenchSection } from '../benchmarks-file';
import { bench4b } from './bench-prefix-4b';
import { forkCost } from './fork-cost';

const threads = Number(process.env.IVL_BENCH_THREADS ?? 2);
const preset = process.env.IVL_BENCH_PRESET ?? (process.env.IVL_BENCH_BUNDLE ? '4b' : 'tiny');
const rounds = Number(process.env.IVL_BENCH_ROUNDS ?? (preset === 'tiny' ? 3 : 1));
const TILES = 13;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function chatTurns() {
  const model = tinyCheckpoint('tiny');
  const tok = await loadTokenizer(model);
  const { dir, manifest } = ensureBundle(model, { dtype: 'fp32' });
  const plan = parsePlan('card:2', manifest.config.llm.numLayers, { perLayer: 1, stageZeroExtra: 1 });
  const runner = await ModelRunner.create(dir, manifest, plan, { threads });
  const IMG = manifest.config.imageContextTokenId;
  const rng = new Rng(1);
  const words = (n: number) => Array.from({ length: n }, () => 200 + rng.int(150000));
  const first: number[] = [151644, 8948, 198, ...words(13), 151665, ...Array(TILES * 256).fill(IMG), 151666, ...words(20), 151645, 198, 151644, 77091, 198];
  const out = { first: [] as number[], second: [] as number[], uncached: [] as number[], cached: 0, prompt: [0, 0] };
  for (let r = 0; r < rounds; r++) {
    // A new image each round, so the first turn never hits an earlier round's cache.
    const image = { px: new Rng(100 + r).fillNormal(new Float32Array(TILES * 3 * 448 * 448)), tiles: TILES };
    const on = inProcessEngine(runner, tok, { prefix: true, steps: 8, prefillChunk: 64 });
    const off = inProcessEngine(runner, tok, { prefix: false, steps: 8, prefillChunk: 64 });
    const a = await on.answer(first, image);
    const second = [...first, ...a.tokens, 151645, 198, 151644, 872, 198, ...words(12), 151645, 198, 151644, 77091, 198];
    const b = await on.answer(second, image);
    const c = await off.answer(second, image);
    if (b.tokens.join() !== c.tokens.join()) throw new Error('the cached second turn answered differently');
    out.first.push(a.ttftMs);
    out.second.push(b.ttftMs);
    out.uncached.push(c.ttftMs);
    out.cached = b.cached;
    out.prompt = [first.length, second.length];
    on.prefix?.clear();
    console.error(`round ${r + 1}/${rounds}: turn 1 ${a.ttftMs.toFixed(0)} ms, turn 2 ${b.ttftMs.toFixed(0)} ms (cache off: ${c.ttftMs.toFixed(0)} ms)`);
  }
  return out;
}

async function main() {
  const t = await chatTurns();
  const fork = forkCost(3400);
  const [f, s, u] = [median(t.first), median(t.second), median(t.uncached)];
  const md = `## Prefix cache: second turn of a multi-turn image chat (\`npm run bench:prefix\`)

${machineLine()}; ${threads} threads, median of ${rounds} rounds.

Tiny generated model (card:2, fp32), in one process through the engine core as the driver wires it (prefill chunk
64): a first turn with a ${TILES}-tile image (${t.prompt[0]} prompt positions, vision pass included) and its second turn
(${t.prompt[1]} positions, of which ${t.cached} come from the prefix cache; the image is inside them, so no vision pass).

| | time to first token |
|---|---|
| turn 1 (vision + whole prefill) | ${f.toFixed(0)} ms |
| turn 2, prefix cache on | ${s.toFixed(0)} ms (**${((100 * s) / f).toFixed(1)}%** of turn 1) |
| turn 2, prefix cache off | ${u.toFixed(0)} ms |

The cached turn's tokens equal the uncached one's (checked every round). What a hit costs instead of prefill, in
the \`4b\` KV layout (36 layers × 2 KV heads × 128, fp32 KV: ${(fork.bytes / 3399 / 1024).toFixed(0)} KiB per position): copying
3,399 cached positions into a new slot takes **${fork.ms.toFixed(0)} ms** (${(fork.bytes / 2 ** 20).toFixed(0)} MiB, one memcpy per layer and KV head), where
prefilling them takes ≈90 s on the benchmark CPU.`;
  console.log(md);
  writeBenchSection('prefix', md);
}

void (preset === 'tiny' ? main() : bench4b(preset, threads, rounds));
