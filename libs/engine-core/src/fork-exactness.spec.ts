/**
 * n > 1 choices on the real model: the choices that fork from the first one's prompt KV answer exactly as a choice
 * that prefills the prompt itself, and the prompt is prefilled once. Without the prefix cache (forks need none).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBundle } from '@ivl/compiler';
import { parsePlan } from '@ivl/plan';
import { IvlTokenizer, loadTokenizer } from '@ivl/prompt';
import { ModelRunner } from '@ivl/runtime';
import { Rng } from '@ivl/tensor';
import { freshCacheDir, relErr, tinyCheckpoint } from '@ivl/test-support';
import type { MicroBatch } from './micro-batch';
import { inProcessEngine } from './testing/in-process-engine';

const STEPS = 4;
const N = 4;
const PROMPT = 3400;
const CHUNK = 512;
/** The largest logit difference allowed between a forked choice and one prefilled in full, relative to the scale. */
const TOLERANCE = 1e-6;

let tok: IvlTokenizer;
let dir: string;
const cacheDir = freshCacheDir('fork');
beforeAll(async () => {
  dir = tinyCheckpoint('tiny');
  tok = await loadTokenizer(dir);
});

async function engine() {
  const { dir: b, manifest } = ensureBundle(dir, { dtype: 'fp32', cacheDir });
  const runner = await ModelRunner.create(b, manifest, parsePlan('card:2', manifest.config.llm.numLayers, { perLayer: 1, stageZeroExtra: 1 }), { threads: 1 });
  return inProcessEngine(runner, tok, { prefix: false, steps: STEPS, prefillChunk: CHUNK });
}

const prefill = (bs: MicroBatch[]) => {
  const withPrefill = bs.filter((b) => b.prefill.some(Boolean));
  return { passes: withPrefill.length, tokens: withPrefill.reduce((a, b) => a + b.spans.reduce((x, s, i) => x + (b.prefill[i] ? s.length : 0), 0), 0) };
};

describe('n > 1 choices fork the first choice\'s prompt KV (card:2, chunked prefill, prefix cache off)', () => {
  it(`n = ${N}, a ${PROMPT}-token prompt: prefilled once, every choice the same greedy tokens and logits as alone`, async () => {
    const ids = [151644, 8948, 198, ...Array.from({ length: PROMPT - 6 }, (_, i) => 200 + new Rng(i).int(150000)), 151644, 77091, 198];
    const forked = await engine();
    const t0 = performance.now();
    const choices = await Promise.all(Array.from({ length: N }, () => forked.answer(ids, undefined, 'req')));
    const forkMs = performance.now() - t0;
    const alone = await engine();
    const t1 = performance.now();
    const separate = await Promise.all(Array.from({ length: N }, () => alone.answer(ids)));
    const separateMs = performance.now() - t1;

    expect(choices.map((c) => c.cached)).toEqual([0, ...Array(N - 1).fill(PROMPT - 1)]);
    expect(separate.map((c) => c.cached)).toEqual(Array(N).fill(0));
    let worst = 0;
    for (const c of choices) {
      expect(c.tokens).toEqual(separate[0].tokens);
      expect(c.logits).toHaveLength(STEPS);
      worst = Math.max(worst, ...c.logits.map((l, i) => relErr(l, separate[0].logits[i])));
    }
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    const f = prefill(forked.exec.batches);
    const s = prefill(alone.exec.batches);
    expect(f.tokens).toBe(PROMPT + N - 1);
    expect(s.tokens).toBe(N * PROMPT);
    console.log(
      `n=${N}, ${PROMPT}-token prompt, chunk ${CHUNK}: forked ${f.passes} prefill passes / ${f.tokens} prefill tokens in ${forkMs.toFixed(0)} ms; ` +
        `each choice prefilling ${s.passes} / ${s.tokens} in ${separateMs.toFixed(0)} ms; worst logit error ${worst.toExponential(1)} of the scale`,
    );
  }, 120_000);
});
