import { beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '@ivl/checkpoint';
import { ensureBundle, WeightFormat } from '@ivl/compiler';
import { cardPlan, parsePlan, Plan } from '@ivl/plan';
import { ReferenceKvCache, ReferenceLanguageModel, ReferenceVision } from '@ivl/reference';
import { Rng, f16ToF32 } from '@ivl/tensor';
import { argmax, freshCacheDir, maxAbsDiff, relErr, tinyCheckpoint } from '@ivl/test-support';
import { ActArray } from './activations';
import { ModelRunner } from './model-runner';

const QWEN_IMG = 151667;
const cache = freshCacheDir('runtime');
const toF32 = (a: ActArray) => (a instanceof Float32Array ? a : f16ToF32(a));

async function runner(dir: string, dtype: WeightFormat, plan?: Plan) {
  const { dir: b, manifest } = ensureBundle(dir, { dtype, cacheDir: cache });
  return ModelRunner.create(b, manifest, plan ?? cardPlan(1, manifest.config.llm.numLayers), { threads: 1 });
}

/** A chat-shaped prompt in the ids of the model's vocabulary (Qwen2's, or InternLM2's with BOS first). */
function promptIds(rng: Rng, n: number, images = 0, ck?: Checkpoint): number[] {
  if (ck?.config.llm.kind === 'internlm2') {
    const ids: number[] = [1, 92543, 1008, 364];
    for (let i = 0; i < n; i++) ids.push(3 + rng.int(92535));
    if (images) ids.push(92544, ...Array(images * 256).fill(92546), 92545);
    ids.push(92542, 364, 92543, 525, 364);
    return ids;
  }
  const ids: number[] = [151644, 8948, 198];
  for (let i = 0; i < n; i++) ids.push(rng.int(151643));
  if (images) ids.push(151665, ...Array(images * 256).fill(QWEN_IMG), 151666);
  ids.push(151645, 198, 151644, 77091, 198);
  return ids;
}

/** Greedy continuation and per-step logits from the plain-TypeScript reference. */
function referenceRun(ref: ReferenceLanguageModel, ids: number[], steps: number, image?: Float32Array) {
  const cfg = (ref as unknown as { ckpt: Checkpoint }).ckpt.config;
  const H = cfg.llm.hiddenSize;
  const L = cfg.llm.numLayers;
  const IMG = cfg.imageContextTokenId;
  const cacheKv = new ReferenceKvCache();
  const emb = ref.embed(ids);
  if (image) {
    let r = 0;
    ids.forEach((id, i) => {
      if (id === IMG) emb.set(image.subarray(r * H, ++r * H), i * H);
    });
  }
  let h = ref.layers(emb, ids.length, 0, L, cacheKv);
  ref.commit(cacheKv, ids.length);
  const logits: Float32Array[] = [ref.head(h.subarray((ids.length - 1) * H), 1)];
  const tokens: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t = argmax(logits[logits.length - 1]);
    tokens.push(t);
    h = ref.layers(ref.embed([t]), 1, 0, L, cacheKv);
    ref.commit(cacheKv, 1);
    logits.push(ref.head(h, 1));
  }
  return { logits, tokens };
}

async function ortRun(r: ModelRunner, seq: string, ids: number[], steps: number, image?: ActArray, forced?: number[], chunkSize?: number) {
  const IMG = r.manifest.config.imageContextTokenId;
  const logits: Float32Array[] = [await r.prefill({ seq, ids, chunkSize, image: image ? { embeds: image, tokenId: IMG } : undefined })];
  const tokens: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t = forced ? forced[s] : argmax(logits[logits.length - 1]);
    tokens.push(argmax(logits[logits.length - 1]));
    logits.push(await r.decode([{ seq, token: t, position: ids.length + s }]));
  }
  r.release(seq);
  return { logits, tokens };
}

// tiny-1b: head_dim 64, tied head. tiny-2b: InternLM2. tiny-26b: InternViT-6B style + InternLM2. tiny-78b: InternViT-6B + Qwen2.
describe.each(['tiny', 'tiny-odd', 'tiny-mha', 'tiny-1b', 'tiny-2b', 'tiny-26b', 'tiny-78b'])('fp32 graphs match the reference (%s)', (preset) => {
  let dir: string;
  let ck: Checkpoint;
  let r: ModelRunner;
  beforeAll(async () => {
    dir = tinyCheckpoint(preset);
    ck = Checkpoint.open(dir);
    r = await runner(dir, 'fp32');
  });

  it('vision graph (InternViT, pixel shuffle, mlp1) within 1e-4 of the reference scale', async () => {
    const S = 448;
    const px = new Rng(7).fillNormal(new Float32Array(2 * 3 * S * S));
    const ours = toF32(await r.vision(px, 2));
    const ref = new ReferenceVision(ck).embedImages(px, 2);
    expect(relErr(ours, ref)).toBeLessThan(1e-4);
  });

  it('prefill then decode over the whole chain (text + image) within 1e-4 of the logit scale', async () => {
    const rng = new Rng(11);
    const S = 448;
    const px = rng.fillNormal(new Float32Array(3 * S * S));
    const refVision = new ReferenceVision(ck).embedImages(px, 1);
    const image = await r.vision(px, 1);
    const ids = promptIds(rng, 9, 1, ck);
    const ref = referenceRun(new ReferenceLanguageModel(ck), ids, 4, refVision);
    const ours = await ortRun(r, 'chain', ids, 4, image);
    expect(ours.tokens).toEqual(ref.tokens.concat([]).slice(0, 4));
    ref.logits.forEach((l, i) => expect(relErr(ours.logits[i], l), `step ${i}`).toBeLessThan(1e-4));
  });

  it('chunked prefill gives the same logits as one pass', async () => {
    const ids = promptIds(new Rng(5), 40, 0, ck);
    const whole = await ortRun(r, 'w', ids, 2);
    const chunked = await ortRun(r, 'c', ids, 2, undefined, undefined, 16);
    // Chunks sum attention over the past in another order than one pass: equal to fp32 rounding, not bit for bit
    // (2.5e-5 absolute on tiny-1b's logits), so the bound is relative to the logit scale.
    whole.logits.forEach((l, i) => expect(relErr(chunked.logits[i], l)).toBeLessThan(1e-5));
  });
});

describe('partition plans give the same outputs as one process (fp32)', () => {
  it.each(['tiny', 'tiny-1b', 'tiny-26b', 'tiny-78b'].flatMap((p) => ['card:2', 'card:4', 'balanced:3'].map((s) => [p, s])))('%s %s', async (preset, spec) => {
    const dir = tinyCheckpoint(preset);
    const base = await runner(dir, 'fp32');
    const L = base.manifest.config.llm.numLayers;
    const planned = await runner(dir, 'fp32', parsePlan(spec, L, { perLayer: 1, stageZeroExtra: 1 }));
    const ids = promptIds(new Rng(3), 12, 0, Checkpoint.open(dir));
    const a = await ortRun(base, 'p', ids, 6);
    const b = await ortRun(planned, 'p', ids, 6);
    expect(b.tokens).toEqual(a.tokens);
    a.logits.forEach((l, i) => expect(maxAbsDiff(b.logits[i], l)).toBeLessThanOrEqual(1e-6));
  });
});

describe('batched decode equals each sequence alone', () => {
  it('three sequences of different lengths decode together bit for bit', async () => {
    const r = await runner(tinyCheckpoint('tiny'), 'fp32');
    const rng = new Rng(21);
    const prompts = [promptIds(rng, 3), promptIds(rng, 17), promptIds(rng, 8)];
    const alone: Array<{ logits: Float32Array[]; tokens: number[] }> = [];
    for (const [i, p] of prompts.entries()) alone.push(await ortRun(r, `a${i}`, p, 4));
    const firsts = [];
    for (const [i, p] of prompts.entries()) firsts.push(await r.prefill({ seq: `b${i}`, ids: p }));
    let next = firsts.map((l) => argmax(l));
    for (let s = 0; s < 4; s++) {
      const logits = await r.decode(prompts.map((p, i) => ({ seq: `b${i}`, token: next[i], position: p.length + s })));
      const V = 151674;
      next = prompts.map((_, i) => {
        const row = logits.subarray(i * V, (i + 1) * V);
        expect(maxAbsDiff(row, alone[i].logits[s + 1])).toBe(0);
        return argmax(row);
      });
    }
  });
});

/**
 * Weight-only formats on a random tiny model: the logit error stays within a stated fraction of the logit scale,
 * and the greedy choice agrees with fp32 at every step where fp32's top-1 lead is larger than twice that error
 * (a choice between near-ties may legitimately flip). The minimum agreement over 16 steps is also stated.
 */
describe.each<[WeightFormat, number, number]>([
  ['fp16', 0.01, 17],
  ['int8', 0.03, 15],
  ['int4', 0.15, 14],
])('%s weights keep top-1 agreement with fp32', (dtype, bound, minAgree) => {
  it(`logit error within ${bound} of the logit scale, at least ${minAgree}/17 greedy choices equal`, async () => {
    const dir = tinyCheckpoint('tiny');
    const f32 = await runner(dir, 'fp32');
    const q = await runner(dir, dtype);
    const ids = promptIds(new Rng(8), 20);
    const ref = await ortRun(f32, 'r', ids, 16);
    // Teacher-forced with the fp32 tokens, so one early near-tie cannot change every later step.
    const ours = await ortRun(q, 'q', ids, 16, undefined, ref.tokens);
    let agree = 0;
    let worst = 0;
    ref.logits.forEach((l, i) => {
      const top = argmax(l);
      const diff = maxAbsDiff(ours.logits[i], l);
      let second = -Infinity;
      l.forEach((v, j) => j !== top && v > second && (second = v));
      const lead = l[top] - second;
      if (argmax(ours.logits[i]) === top) agree++;
      else expect(lead, `step ${i} flipped with a lead of ${lead} against an error of ${diff}`).toBeLessThan(2 * diff);
      worst = Math.max(worst, relErr(ours.logits[i], l));
    });
    console.log(`${dtype}: top-1 agreement ${agree}/${ref.logits.length}, worst relative logit error ${worst.toExponential(2)}`);
    expect(agree).toBeGreaterThanOrEqual(minAgree);
    expect(worst).toBeLessThan(bound);
  });
});

describe('slot KV cache in place', () => {
  it('sequences decoding in scattered slots (moved into one window, rows permuted) equal each alone', async () => {
    const r = await runner(tinyCheckpoint('tiny'), 'fp32');
    const rng = new Rng(31);
    const prompts = [promptIds(rng, 5), promptIds(rng, 30), promptIds(rng, 2), promptIds(rng, 12)];
    const alone: Array<{ logits: Float32Array[] }> = [];
    for (const [i, p] of prompts.entries()) alone.push(await ortRun(r, `solo${i}`, p, 3));
    const next: number[] = [];
    for (const [i, p] of prompts.entries()) next.push(argmax(await r.prefill({ seq: `m${i}`, ids: p })));
    r.release('m1');
    // m3 and m0 sit in slots 3 and 0 with a hole between them; m3 is listed first.
    const pick = [3, 0];
    const V = 151674;
    for (let s = 0; s < 3; s++) {
      const logits = await r.decode(pick.map((i) => ({ seq: `m${i}`, token: next[i], position: prompts[i].length + s })));
      pick.forEach((i, row) => {
        const l = logits.subarray(row * V, (row + 1) * V);
        expect(maxAbsDiff(l, alone[i].logits[s + 1]), `seq ${i} step ${s}`).toBe(0);
        next[i] = argmax(l);
      });
    }
  });

  it('a mixed step (two decode rows + prefill chunks of two more sequences) equals the unmixed steps bit for bit, the rows and the first chunk in one pass', async () => {
    const r = await runner(tinyCheckpoint('tiny'), 'fp32', cardPlan(2, 12));
    const H = r.hidden;
    const V = 151674;
    const rng = new Rng(41);
    const [a, b, c, d] = [promptIds(rng, 4), promptIds(rng, 12), promptIds(rng, 22), promptIds(rng, 9)];
    const run = async (tag: string, mixed: boolean) => {
      const ta = argmax(await r.prefill({ seq: `${tag}a`, ids: a }));
      const tb = argmax(await r.prefill({ seq: `${tag}b`, ids: b }));
      const dec = [
        { seq: `${tag}a`, start: a.length, length: 1 },
        { seq: `${tag}b`, start: b.length, length: 1 },
      ];
      const cChunk = { seq: `${tag}c`, start: 0, length: 16 };
      const dChunk = { seq: `${tag}d`, start: 0, length: d.length };
      let rows: ActArray;
      let dRows: ActArray;
      if (mixed) {
        const h = await r.layers(await r.embed([ta, ...c.slice(0, 16), tb, ...d]), [dec[0], cChunk, dec[1], dChunk]);
        expect(new Set(r.lastPasses), 'passes in every range').toEqual(new Set([2]));
        rows = new Float32Array([...h.subarray(0, H), ...h.subarray(17 * H, 18 * H)]);
        dRows = h.subarray(18 * H);
        const solo = await r.layers(await r.embed(c.slice(16, 20)), [{ seq: `${tag}c`, start: 16, length: 4 }]);
        expect(solo.length).toBe(4 * H);
        expect(new Set(r.lastPasses), 'a lone chunk').toEqual(new Set([1]));
      } else {
        rows = await r.layers(await r.embed([ta, tb]), dec);
        expect(new Set(r.lastPasses), 'decode rows alone').toEqual(new Set([1]));
        expect(r.lastPasses.length).toBeGreaterThan(1);
        await r.layers(await r.embed(c.slice(0, 16)), [cChunk]);
        dRows = await r.layers(await r.embed(d), [dChunk]);
        await r.layers(await r.embed(c.slice(16, 20)), [{ seq: `${tag}c`, start: 16, length: 4 }]);
      }
      const decodeLogits = await r.logits(rows, 2);
      const dLogits = await r.logits(dRows.subarray((d.length - 1) * H), 1);
      const rest = await r.layers(await r.embed(c.slice(20)), [{ seq: `${tag}c`, start: 20, length: c.length - 20 }]);
      const cLogits = await r.logits(rest.subarray((c.length - 21) * H), 1);
      ['a', 'b', 'c', 'd'].forEach((x) => r.release(`${tag}${x}`));
      return { decodeLogits, cLogits, dLogits };
    };
    const plain = await run('u', false);
    const mixed = await run('m', true);
    expect(maxAbsDiff(mixed.decodeLogits, plain.decodeLogits)).toBe(0);
    expect(maxAbsDiff(mixed.cLogits, plain.cLogits)).toBe(0);
    expect(maxAbsDiff(mixed.dLogits, plain.dLogits)).toBe(0);
    expect(plain.decodeLogits.length).toBe(2 * V);
  });

  it('the unfused baseline (separatePrefillPass) runs the decode rows and each chunk apart, with the same numbers', async () => {
    const dir = tinyCheckpoint('tiny');
    const { dir: b, manifest } = ensureBundle(dir, { dtype: 'fp32', cacheDir: cache });
    const plan = cardPlan(1, manifest.config.llm.numLayers);
    const H = manifest.config.llm.hiddenSize;
    const out: ActArray[] = [];
    for (const separatePrefillPass of [false, true]) {
      const r = await ModelRunner.create(b, manifest, plan, { threads: 1, separatePrefillPass });
      const rng = new Rng(43);
      const [a, c] = [promptIds(rng, 6), promptIds(rng, 20)];
      const ta = argmax(await r.prefill({ seq: 'a', ids: a }));
      const h = await r.layers(await r.embed([ta, ...c.slice(0, 12)]), [
        { seq: 'a', start: a.length, length: 1 },
        { seq: 'c', start: 0, length: 12 },
      ]);
      expect(r.lastPasses, `separatePrefillPass ${separatePrefillPass}`).toEqual([separatePrefillPass ? 2 : 1]);
      out.push(h);
    }
    expect(out[0].length).toBe(13 * H);
    expect(maxAbsDiff(out[0], out[1])).toBe(0);
  });

  it('an fp16 KV cache (fp32 activations) stays within 5e-4 of the logit scale of the fp32 cache, same greedy tokens', async () => {
    const dir = tinyCheckpoint('tiny');
    const { dir: b, manifest } = ensureBundle(dir, { dtype: 'fp32', cacheDir: cache });
    const plan = cardPlan(1, manifest.config.llm.numLayers);
    const f32 = await ModelRunner.create(b, manifest, plan, { threads: 1 });
    const f16 = await ModelRunner.create(b, manifest, plan, { threads: 1, kvType: 'float16' });
    const ids = promptIds(new Rng(8), 40);
    const ref = await ortRun(f32, 'r', ids, 12);
    const ours = await ortRun(f16, 'h', ids, 12, undefined, ref.tokens);
    const worst = Math.max(...ref.logits.map((l, i) => relErr(ours.logits[i], l)));
    console.log(`fp16 KV: worst relative logit error ${worst.toExponential(2)} over ${ref.logits.length} steps`);
    expect(worst).toBeLessThan(5e-4);
    expect(ours.logits.map((l) => argmax(l))).toEqual(ref.logits.map((l) => argmax(l)));
  });
});
