/**
 * A prefix-cache hit against a miss on the real model: the scheduler's own micro-batches (chunked prefill, a fork
 * chunk with `from`) through every layer range of multi-stage plans, each range with its own slot KV cache.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBundle } from '@ivl/compiler';
import { parsePlan } from '@ivl/plan';
import { IvlTokenizer, loadTokenizer } from '@ivl/prompt';
import { ModelRunner } from '@ivl/runtime';
import { Rng } from '@ivl/tensor';
import { freshCacheDir, relErr, tinyCheckpoint } from '@ivl/test-support';
import { inProcessEngine } from './testing/in-process-engine';

const IMG = 151667;
const TILE = 3 * 448 * 448;
const STEPS = 6;
/** The largest logit difference allowed between a hit and a miss, relative to the logits' scale. */
const TOLERANCE = 1e-6;

let tok: IvlTokenizer;
let dir: string;
const cacheDir = freshCacheDir('prefix');
beforeAll(async () => {
  const model = tinyCheckpoint('tiny');
  tok = await loadTokenizer(model);
  dir = model;
});

/** One model (plan `spec`) and the engine core over it, with or without the prefix cache. */
async function engine(spec: string, cache: boolean) {
  const { dir: b, manifest } = ensureBundle(dir, { dtype: 'fp32', cacheDir });
  const runner = await ModelRunner.create(b, manifest, parsePlan(spec, manifest.config.llm.numLayers, { perLayer: 1, stageZeroExtra: 1 }), { threads: 1 });
  const e = inProcessEngine(runner, tok, { prefix: cache, steps: STEPS, prefillChunk: 16 });
  return {
    answer: async (ids: number[], image?: { px: Float32Array; tiles: number }) => {
      const before = e.exec.batches.length;
      const r = await e.answer(ids, image);
      // The micro-batch that started this sequence: its first chunk.
      return { ...r, first: e.exec.batches.slice(before).find((x) => x.prefill.some(Boolean))! };
    },
  };
}

const chat = (rng: Rng, n: number) => Array.from({ length: n }, () => 200 + rng.int(150000));
/** A first turn: system-ish header, 13 words (so an image starts at 16, a block boundary), the image, a question. */
function turn1(image: boolean): number[] {
  const rng = new Rng(3);
  return [151644, 8948, 198, ...chat(rng, 13), ...(image ? [151665, ...Array(256).fill(IMG), 151666] : []), ...chat(rng, 21), 151645, 198, 151644, 77091, 198];
}
/** The next turn's prompt: the first, its answer as the template writes it back, and a new question. */
const turn2 = (first: number[], answer: number[]) => [...first, ...answer, 151645, 198, 151644, 872, 198, ...chat(new Rng(9), 19), 151645, 198, 151644, 77091, 198];

function expectSame(hit: { tokens: number[]; logits: Float32Array[] }, miss: { tokens: number[]; logits: Float32Array[] }): number {
  expect(hit.tokens).toEqual(miss.tokens);
  expect(hit.logits).toHaveLength(miss.logits.length);
  const worst = Math.max(...hit.logits.map((l, i) => relErr(l, miss.logits[i])));
  expect(worst).toBeLessThanOrEqual(TOLERANCE);
  return worst;
}

describe.each(['card:2', 'balanced:3'])('prefix cache hit = miss (%s, chunked prefill)', (spec) => {
  let cached: Awaited<ReturnType<typeof engine>>;
  let plain: Awaited<ReturnType<typeof engine>>;
  beforeAll(async () => {
    cached = await engine(spec, true);
    plain = await engine(spec, false);
  });

  it('a chat second turn starts from the first turn\'s KV and answers exactly as without the cache', async () => {
    const first = turn1(false);
    const a = await cached.answer(first);
    expect(a.cached).toBe(0);
    const next = turn2(first, a.tokens);
    const hit = await cached.answer(next);
    const miss = await plain.answer(next);
    // The first turn fed its prompt and all but its last answer token: the match ends at that many whole blocks.
    expect(hit.cached).toBe(Math.floor((first.length + STEPS - 1) / 16) * 16);
    expect(hit.first.spans.find((s) => s.from)).toMatchObject({ start: hit.cached, from: expect.any(String) });
    const worst = expectSame(hit, miss);
    console.log(`${spec} text turn 2: ${hit.cached} of ${next.length} positions cached, worst logit error ${worst.toExponential(1)} of the scale`);
  });

  it('an image chat: the second turn reuses the image\'s KV; the same text with another image shares nothing of it', async () => {
    const px = new Rng(5).fillNormal(new Float32Array(TILE));
    const first = turn1(true);
    const a = await cached.answer(first, { px, tiles: 1 });
    const next = turn2(first, a.tokens);
    const hit = await cached.answer(next, { px, tiles: 1 });
    const miss = await plain.answer(next, { px, tiles: 1 });
    expect(hit.cached).toBeGreaterThan(first.lastIndexOf(IMG));
    expect([hit.vision, miss.vision]).toEqual([false, true]); // the image is in the cached prefix: no vision pass
    const worst = expectSame(hit, miss);
    console.log(`${spec} image turn 2: ${hit.cached} of ${next.length} positions cached, worst logit error ${worst.toExponential(1)} of the scale`);
    // Another image, the same words: only the 16 positions before the image may be shared.
    const other = new Rng(6).fillNormal(new Float32Array(TILE));
    const foreign = await cached.answer(next, { px: other, tiles: 1 });
    expect(foreign.cached).toBe(16);
    expectSame(foreign, await plain.answer(next, { px: other, tiles: 1 }));
  });
});
