/**
 * `npm run bench:latency`: what a long prompt does to the answers already running, through the real engine core
 * (the driver's Scheduler + RingExecutor over the stage's onnxruntime thread, wired by `wireEngineCore`). Four
 * streams decode (short prompts, greedy); a request with a 3,400-token text prompt arrives; every stream's
 * token timestamps give its inter-token gaps before, during and after the long prefill. Repeated for several
 * prefill budgets (`--prefill-chunk`) in one run, so the trade-off between the gaps and the long prompt's time to
 * first token is visible; and the long prompt alone, nothing decoding (what the budget costs it then).
 * The second turn of an image chat is measured by `npm run bench:prefix` (its 4b mode), through the driver's
 * prefix-cache rules.
 *
 * Env: IVL_BENCH_BUNDLE / IVL_BENCH_MODEL (see bench-bundle.ts), IVL_BENCH_PRESET (4b; `tiny` for a quick check
 * of the harness), IVL_BENCH_THREADS (2), IVL_BENCH_BUDGETS (comma list, default `32,16`: the first is the
 * worker's CPU default), IVL_BENCH_PASSES (`fused,separate`: the step's chunk in one pass with the decode rows, and
 * the baseline with the chunk apart; each on a stage thread of its own), IVL_BENCH_LONG (3400 prompt tokens), IVL_BENCH_STREAMS (4),
 * IVL_BENCH_GAPS (10 gaps per stream before and after the long prompt), IVL_BENCH_ROUNDS (2 visits of every budget), IVL_BENCH_ALONE (1: also time the long
 * prompt alone at each budget and at IVL_BENCH_ALONE_LARGE, 256; 0 = skip),
 * IVL_BENCH_WRITE (1: write BENCHMARKS.md; 0 = print only), IVL_BENCH_STEPS_OUT (a JSON file for every step).
 * A larger run: more streams (IVL_BENCH_STREAMS=8), more budgets (IVL_BENCH_BUDGETS=64,8,16,32,128), more gaps.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { MicroBatch, Sequence } from '@ivl/engine-core';
import { IvlTokenizer, loadTokenizer } from '@ivl/prompt';
import { prepareInput } from '@ivl/requests';
import { StageSetup, WORKER_DEFAULTS, setUpStage, wireEngineCore } from '@ivl/worker-node';
import { machineLine, writeBenchSection } from '../benchmarks-file';
import { benchBundle } from './bench-bundle';
import { GapSummary, gapsAround, median, summarizeGaps } from './inter-token-gaps';
import { Streams } from './timed-streams';

const env = process.env;
const preset = env.IVL_BENCH_PRESET ?? '4b';
const threads = Number(env.IVL_BENCH_THREADS ?? 2);
const budgets = (env.IVL_BENCH_BUDGETS ?? '32,16').split(',').map(Number);
/** How a step's prefill chunk runs: with the decode rows in one pass (the engine's way), or apart (the baseline). */
type PassMode = 'fused' | 'separate';
const modes = (env.IVL_BENCH_PASSES ?? 'fused,separate').split(',') as PassMode[];
const longTokens = Number(env.IVL_BENCH_LONG ?? 3400);
const numStreams = Number(env.IVL_BENCH_STREAMS ?? 4);
const gapsPerSide = Number(env.IVL_BENCH_GAPS ?? 10);
const rounds = Number(env.IVL_BENCH_ROUNDS ?? 2);
const aloneToo = env.IVL_BENCH_ALONE !== '0';
/** A budget far above the others, for the prompt alone: do larger passes finish a long prompt sooner? */
const aloneLarge = Number(env.IVL_BENCH_ALONE_LARGE ?? 256);
const progress = (msg: string) => console.error(`[bench:latency ${new Date().toISOString().slice(11, 19)}] ${msg}`);

interface StepRecord {
  decodeRows: number;
  prefillTokens: number;
  /** The first prompt position this step's prefill chunks carried (-1: none). */
  prefillFrom: number;
  ms: number;
}

interface BudgetResult {
  mode: PassMode;
  budget: number;
  round: number;
  gaps: GapSummary;
  ttftMs: number;
  steps: StepRecord[];
}

/** The engine core as a worker runs it, at one prefill budget; every step's composition and time is recorded. */
function engineAt(s: StageSetup, budget: number, steps: StepRecord[]) {
  const onBatchDone = (b: MicroBatch, ms: number) => {
    const chunks = b.spans.filter((_, i) => b.prefill[i]);
    const prefillTokens = chunks.reduce((a, x) => a + x.length, 0);
    steps.push({ decodeRows: b.prefill.filter((p) => !p).length, prefillTokens, prefillFrom: chunks.length ? Math.min(...chunks.map((x) => x.start)) : -1, ms });
  };
  const onRelease = (q: Sequence) => void s.model.release([q.id]).catch(() => undefined);
  return wireEngineCore(s.model, undefined, { ...WORKER_DEFAULTS, prefillChunk: budget }, { hidden: s.info.hidden, vocab: s.info.vocab, numStages: 1 }, { onRelease, onBatchDone });
}

/** A chat prompt of exactly `n` tokens: the template around a question cut to fit. */
async function longPrompt(tok: IvlTokenizer, s: StageSetup, n: number): Promise<number[]> {
  const words = 'the pipeline ring carries every decode row and a bounded chunk of each waiting prompt so that no answer stops while a long image prompt is read'.split(' ');
  const text = Array.from({ length: n + 50 }, (_, i) => words[(i * 7) % words.length]).join(' ');
  const overhead = (await prepareInput(tok, s.manifest.config, { question: 'x' })).ids.length - tok.encode('x').length;
  const question = tok.decode(tok.encode(text).slice(0, n - overhead));
  const ids = (await prepareInput(tok, s.manifest.config, { question })).ids;
  return ids.length > n ? ids.slice(0, n) : ids;
}

async function runBudget(s: StageSetup, mode: PassMode, tok: IvlTokenizer, budget: number, round: number, short: number[][], long: number[]): Promise<BudgetResult> {
  const steps: StepRecord[] = [];
  const { scheduler } = engineAt(s, budget, steps);
  const streams = new Streams(s, tok);
  const times = short.map(() => [] as number[]);
  const seqs = short.map((ids, i) => streams.start(`r${round}-${mode}-b${budget}-s${i}`, ids, 100_000, times[i]));
  seqs.forEach((q) => scheduler.add(q));
  await streams.until(() => times.every((t) => t.length >= 1));
  const from = times.map((t) => t.length - 1);
  await streams.until(() => times.every((t, i) => t.length > from[i] + gapsPerSide));
  progress(`${mode}, budget ${budget}: ${numStreams} streams decoding, ${gapsPerSide} gaps each; the ${long.length}-token prompt arrives`);
  const longTimes: number[] = [];
  const arrive = performance.now();
  const longSeq = streams.start(`r${round}-${mode}-b${budget}-long`, long, 1, longTimes);
  scheduler.add(longSeq);
  await streams.until(() => longTimes.length > 0);
  const firstToken = longTimes[0];
  progress(`${mode}, budget ${budget}: long prompt's first token after ${((firstToken - arrive) / 1000).toFixed(1)} s; ${gapsPerSide} more gaps`);
  const mark = times.map((t) => t.length);
  await streams.until(() => times.every((t, i) => t.length >= mark[i] + gapsPerSide));
  seqs.forEach((q) => scheduler.cancel(q));
  await Promise.all([...seqs, longSeq].map((q) => q.done));
  const result: BudgetResult = { mode, budget, round, gaps: summarizeGaps(gapsAround(times, from, arrive, firstToken)), ttftMs: firstToken - arrive, steps };
  if (env.IVL_BENCH_STEPS_OUT) {
    // Every step's composition and time, for a closer look (e.g. bench/.artifacts/latency-steps.json).
    mkdirSync(dirname(env.IVL_BENCH_STEPS_OUT), { recursive: true });
    const old = existsSync(env.IVL_BENCH_STEPS_OUT) ? JSON.parse(readFileSync(env.IVL_BENCH_STEPS_OUT, 'utf8')) : {};
    writeFileSync(env.IVL_BENCH_STEPS_OUT, JSON.stringify({ ...old, [`${round}/${mode}/${budget}`]: { steps, arrive, firstToken, times } }));
  }
  await new Promise((r) => setTimeout(r, 100)); // the releases reach the stage thread
  return result;
}

/** The long prompt's time to first token with nothing else running, at one budget. */
async function timeAlone(s: StageSetup, tok: IvlTokenizer, long: number[], budget: number): Promise<number> {
  const times: number[] = [];
  const alone = new Streams(s, tok).start(`alone-${budget}`, long, 1, times);
  const t0 = performance.now();
  engineAt(s, budget, []).scheduler.add(alone);
  await alone.done;
  progress(`the long prompt alone, budget ${budget}: first token after ${((times[0] - t0) / 1000).toFixed(1)} s`);
  await new Promise((r) => setTimeout(r, 100)); // its release reaches the stage thread
  return times[0] - t0;
}

/** The slowest step of a run while the streams decoded, and what it carried. */
function slowest(r: BudgetResult): string {
  const x = r.steps.reduce((a, b) => (b.ms > a.ms ? b : a), r.steps[0]);
  return `${x.ms.toFixed(0)} ms (${x.decodeRows} rows + ${x.prefillTokens} prefill from ${x.prefillFrom})`;
}

/** Median step time of the steps of one composition (decode rows, prefill positions) at one budget. */
function stepMs(r: BudgetResult, withPrefill: boolean): string {
  const xs = r.steps.filter((x) => x.decodeRows === numStreams && (withPrefill ? x.prefillTokens === r.budget : x.prefillTokens === 0)).map((x) => x.ms);
  return xs.length ? `${median(xs).toFixed(0)} ms` : '–';
}

async function main() {
  const t0 = Date.now();
  const load0 = loadavg()[0];
  const { dir, manifest } = benchBundle(preset);
  progress(`bundle ${dir}; starting a stage thread (${threads} threads) for each of ${modes.join(', ')}`);
  const setups = new Map<PassMode, StageSetup>();
  for (const mode of modes) {
    const opts = { ...WORKER_DEFAULTS, model: dir, dtype: manifest.dtype, plan: 'card:1', stage: 0, peers: ['127.0.0.1:0'], threads, pipelineId: `bench-latency-${mode}`, log: progress };
    setups.set(mode, await setUpStage({ ...opts, separatePrefillPass: mode === 'separate' }));
  }
  const s = setups.get(modes[0])!;
  const tok = await loadTokenizer(manifest.source.dir);
  const topics = ['rivers', 'mountains', 'harbours', 'forests', 'deserts', 'glaciers', 'islands', 'valleys'];
  const short = await Promise.all(Array.from({ length: numStreams }, async (_, i) => (await prepareInput(tok, manifest.config, { question: `Tell me a long story about ${topics[i % topics.length]}.` })).ids));
  const long = await longPrompt(tok, s, longTokens);
  progress(`prompts: ${numStreams} short (${short.map((x) => x.length).join(', ')} tokens), one long (${long.length} tokens); budgets ${budgets.join(', ')}`);
  // One warm-up so the first budget does not pay for onnxruntime's first runs of each shape.
  for (const x of setups.values()) await runWarmup(x, tok, long);
  const results: BudgetResult[] = [];
  const loads: number[] = [load0];
  // Rounds visit the (pass mode, budget) pairs in alternating order, so a change in the shared machine's load falls
  // on all alike.
  const pairs = modes.flatMap((mode) => budgets.map((b) => [mode, b] as const));
  for (let round = 0; round < rounds; round++) {
    for (const [mode, b] of round % 2 ? [...pairs].reverse() : pairs) {
      const r = await runBudget(setups.get(mode)!, mode, tok, b, round, short, long);
      results.push(r);
      loads.push(loadavg()[0]);
      const g = r.gaps;
      progress(`round ${round + 1}/${rounds}, ${mode}, budget ${b}: median gap ${g.medianMs.toFixed(0)} ms (before ${g.medianBeforeMs.toFixed(0)} ms), largest ${g.maxMs.toFixed(0)} ms (${g.maxPhase}), TTFT ${(r.ttftMs / 1000).toFixed(1)} s`);
    }
  }
  // The long prompt with nothing decoding, at each budget and a large one: what the budget costs a prompt alone.
  const alone = new Map<number, number>();
  if (aloneToo) for (const b of [...budgets, aloneLarge]) alone.set(b, await timeAlone(s, tok, long, b));
  await new Promise((r) => setTimeout(r, 200)); // the last releases reach the stage thread before it closes
  for (const x of setups.values()) await x.model.close();
  const minutes = ((Date.now() - t0) / 60000).toFixed(1);
  const L = manifest.config.llm.numLayers;
  const rows = [...results].sort((a, b) => modes.indexOf(a.mode) - modes.indexOf(b.mode) || budgets.indexOf(a.budget) - budgets.indexOf(b.budget) || a.round - b.round).map((r) => {
    const g = r.gaps;
    const verdict = g.maxMs / g.medianMs <= 3 ? 'yes' : 'no';
    return `| ${r.mode === 'fused' ? 'one pass' : 'chunk apart'} | ${r.budget} | ${r.round + 1} | ${g.medianBeforeMs.toFixed(0)} ms | ${g.medianMs.toFixed(0)} ms | ${g.p95Ms.toFixed(0)} ms | ${g.maxMs.toFixed(0)} ms (${g.maxPhase}) | **${(g.maxMs / g.medianMs).toFixed(2)}** (${verdict}) | ${(g.maxMs / g.medianBeforeMs).toFixed(2)} | ${stepMs(r, false)} | ${stepMs(r, true)} | ${slowest(r)} | ${(r.ttftMs / 1000).toFixed(1)} s |`;
  });
  const md = [
    '## A long prompt arriving while answers decode (`npm run bench:latency`)',
    '',
    `Command: \`flock /work/heavy.lock npm run bench:latency\` (IVL_BENCH_PRESET=${preset}, IVL_BENCH_THREADS=${threads}, IVL_BENCH_BUDGETS=${budgets.join(',')}, IVL_BENCH_PASSES=${modes.join(',')}, IVL_BENCH_GAPS=${gapsPerSide}, IVL_BENCH_ROUNDS=${rounds}${env.IVL_BENCH_BUNDLE ? `, IVL_BENCH_BUNDLE=${env.IVL_BENCH_BUNDLE}` : ''}${env.IVL_BENCH_MODEL ? `, IVL_BENCH_MODEL=${env.IVL_BENCH_MODEL}` : ''}). Machine: ${machineLine()}; load average (\`uptime\`, 1 min) ${loads.map((x) => x.toFixed(1)).join(' → ')} at the start and after each budget. Model: the \`${preset}\` preset, ${manifest.dtype} weights, all ${L} layers on one stage (plan card:1), ${threads} onnxruntime threads, driven through the engine core as a worker wires it (\`wireEngineCore\`: Scheduler + RingExecutor + the stage's onnxruntime thread). ${numStreams} streams decode greedily (prompts of ${short[0].length} tokens); after ${gapsPerSide} gaps each, a request with a ${long.length}-token text prompt arrives; the gaps are every stream's inter-token gaps from then until ${gapsPerSide} gaps after the long prompt's first token. Two ways of running a step that carries a prefill chunk, each on its own stage thread: "one pass" (the engine's: the decode rows and the chunk in one run of the layers graph, one read of the weights) and "chunk apart" (the baseline: the decode rows, then the chunk, as two runs). ${rounds} rounds, each visiting every pass mode and budget (in reverse order every other round, so the shared machine's changing load falls on all alike); the whole run took ${minutes} min.`,
    '',
    'Target (issue 9): the largest gap ≤ 3× the median gap. "Median" is over all gaps (before, during and after the prefill), as the target reads; "undisturbed" is the median before the long prompt arrived, which the gap ratio against it shows without the prefill steps weighing on the median.',
    '',
    '| step | prefill budget | round | undisturbed gap (median) | median gap | p95 gap | largest gap | largest ÷ median (≤ 3?) | largest ÷ undisturbed | step: decode rows only | step: decode rows + a full chunk | slowest step | long prompt TTFT |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    alone.size ? `The long prompt alone (nothing decoding), time to first token by budget: ${[...alone].map(([b, ms]) => `${b} → ${(ms / 1000).toFixed(1)} s`).join(', ')}.` : '',
  ].join('\n');
  if (env.IVL_BENCH_WRITE !== '0') writeBenchSection('latency', md);
  console.log(md);
}

/** A few steps of every shape the run uses (decode rows, each budget's chunk), so no budget pays for first runs. */
async function runWarmup(s: StageSetup, tok: IvlTokenizer, ids: number[]): Promise<void> {
  for (const b of [...budgets, aloneLarge]) {
    const q = new Streams(s, tok).start(`warmup-${b}`, ids.slice(0, b + 1), 2, []);
    engineAt(s, b, []).scheduler.add(q);
    await q.done;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
