import type { BundleManifest } from '@ivl/compiler';
import { Admission, MicroBatch, PrefixCache, Sequence, imageRuns, visionNeeded } from '@ivl/engine-core';
import { GREEDY, SequenceDecoder, TokenLogprob } from '@ivl/generation';
import { loadTokenizer } from '@ivl/prompt';
import { prepareInput } from '@ivl/requests';
import { TileEmbeddingCache } from '@ivl/runtime';
import { WORKER_DEFAULTS, setUpStage, wireEngineCore } from '@ivl/worker-node';
import { syntheticImage } from '../../test/support/images';
import { median } from './inter-token-gaps';

/** One turn's figures: from the request's start (preprocessing included) to its first token. */
export interface TurnResult {
  ttftMs: number;
  tiles: number;
  positions: number;
  /** Prompt positions taken from the prefix cache. */
  cached: number;
  /** Prompt positions prefilled by the stage (counted from the steps' chunks). */
  prefilled: number;
  vision: boolean;
  visionMs: number;
  /** The first step's time (for a hit: the fork's copy of the cached positions and the first chunk). */
  firstStepMs: number;
  /** Median time of the turn's full prefill chunks. */
  chunkMs: number;
  tokens: number[];
  /** Each greedy token's log-probability and the two most likely tokens'. */
  logprobs: TokenLogprob[];
  answer: string;
}

/**
 * A multi-turn image chat through stage 0 as the driver runs it, on one stage holding every layer (plan card:1):
 * the stage's onnxruntime thread, `wireEngineCore` with the worker's defaults, the vision cache, and, when on, the
 * prefix cache with the job processor's rules (look up the prompt with the image's tile keys before the vision
 * pass; skip the vision pass when the image lies inside the cached prefix; a finished sequence stays cached).
 */
export async function stageImageChat(bundle: { dir: string; manifest: BundleManifest }, o: { threads: number; steps: number; log: (m: string) => void }) {
  const s = await setUpStage({ ...WORKER_DEFAULTS, model: bundle.dir, dtype: bundle.manifest.dtype, stage: 0, peers: ['127.0.0.1:0'], threads: o.threads, pipelineId: 'bench-prefix', log: o.log });
  s.model.visionCache = new TileEmbeddingCache(WORKER_DEFAULTS.visionCacheMb * 2 ** 20);
  const tok = await loadTokenizer(s.manifest.source.dir);
  const engine = (withPrefix: boolean) => {
    const release = (ids: string[]) => void s.model.release(ids).catch(() => undefined);
    const prefix = withPrefix ? new PrefixCache({ admission: new Admission(s.info.kvCapacityTokens), release }) : undefined;
    const steps: { ms: number; prefill: number }[] = [];
    const onBatchDone = (b: MicroBatch, ms: number) => steps.push({ ms, prefill: b.spans.reduce((a, x, i) => a + (b.prefill[i] ? x.length : 0), 0) });
    const onRelease = (q: Sequence) => prefix?.retain(q) || release([q.id]);
    const { scheduler } = wireEngineCore(s.model, undefined, WORKER_DEFAULTS, { hidden: s.info.hidden, vocab: s.info.vocab, numStages: 1 }, { prefix, onRelease, onBatchDone });
    return { scheduler, prefix, steps };
  };
  let n = 0;
  const turn = async (e: ReturnType<typeof engine>, input: Parameters<typeof prepareInput>[2], name: string): Promise<TurnResult> => {
    const from = e.steps.length;
    const t0 = performance.now();
    const p = await prepareInput(tok, s.manifest.config, input);
    const IMG = s.manifest.config.imageContextTokenId;
    const keys = TileEmbeddingCache.tileKeys(p.pixelValues, p.numTiles);
    const cached = e.prefix?.lookup(p.ids, imageRuns(p.ids, IMG, keys));
    const vision = p.numTiles > 0 && visionNeeded(p.ids, IMG, cached);
    const tv = performance.now();
    const rows = vision ? await s.model.vision(p.pixelValues, p.numTiles, keys) : undefined;
    const visionMs = performance.now() - tv;
    const d = new SequenceDecoder(tok, p.ids, { params: { ...GREEDY, maxNewTokens: o.steps, ignoreEos: true, logprobs: 2 }, eosTokenIds: s.manifest.generation.eosTokenIds, seed: 0 });
    let first = 0;
    const q = new Sequence(`chat-${n++}`, p.ids, p.ids.length, d, rows, IMG, s.info.hidden, () => (first ||= performance.now()));
    q.prefix = cached;
    e.scheduler.add(q);
    await q.done;
    const steps = e.steps.slice(from).filter((x) => x.prefill > 0);
    const chunk = Math.max(...steps.map((x) => x.prefill));
    const r = {
      ttftMs: first - t0,
      tiles: p.numTiles,
      positions: p.ids.length,
      cached: q.cachedTokens,
      prefilled: steps.reduce((a, x) => a + x.prefill, 0),
      vision,
      visionMs,
      firstStepMs: steps[0]?.ms ?? NaN,
      chunkMs: median(steps.filter((x) => x.prefill === chunk).map((x) => x.ms)),
      tokens: d.tokens,
      logprobs: d.logprobs,
      answer: d.outputText,
    };
    o.log(`${name}: ${p.numTiles} tiles, ${r.positions} positions (${r.cached} cached, ${r.prefilled} prefilled), vision ${vision ? `${(visionMs / 1000).toFixed(1)} s` : 'skipped'}, first token after ${(r.ttftMs / 1000).toFixed(1)} s`);
    return r;
  };
  return { s, tok, engine, turn, /** A 1792×1344 picture: 12 tiles and the thumbnail. */
    image: async (seed: number) => ({ data: (await syntheticImage(1792, 1344, seed)).bytes, maxNum: 12 }),
   };
}

/** A short text prompt through an engine first, so that turn 1 does not pay for onnxruntime's first runs. */
export async function warmUp(chat: Awaited<ReturnType<typeof stageImageChat>>): Promise<void> {
  await chat.turn(chat.engine(false), { question: 'Warm up the stage: '.repeat(12) }, 'warm-up');
}
