import { GREEDY, SequenceDecoder } from '@ivl/generation';
import type { IvlTokenizer } from '@ivl/prompt';
import { type ModelRunner, TileEmbeddingCache } from '@ivl/runtime';
import { Admission } from '../admission';
import { imageRuns } from '../prefix-hash';
import { PrefixCache } from '../prefix-cache';
import { Scheduler } from '../scheduler';
import { Sequence } from '../sequence';
import { ModelRunnerExecutor } from './model-runner-executor';

export interface InProcessAnswer {
  tokens: number[];
  /** Logits of every step (the prompt's last position, then each decode row). */
  logits: Float32Array[];
  /** Prompt positions taken from the prefix cache. */
  cached: number;
  /** From the request's start (vision included) to its first token, in milliseconds. */
  ttftMs: number;
  /** Whether the image's vision pass ran (it does not when the cached prefix holds the image). */
  vision: boolean;
}

/**
 * The engine core as the stage-0 driver wires it, in one process over a ModelRunner (tests and benches): the
 * scheduler with chunked prefill, admission, and optionally the prefix cache, with the driver's rule that an
 * image inside the cached prefix needs no vision pass. Greedy answers of `steps` tokens.
 */
export function inProcessEngine(runner: ModelRunner, tok: IvlTokenizer, o: { prefix: boolean; steps: number; prefillChunk?: number }) {
  const m = runner.manifest;
  const IMG = m.config.imageContextTokenId;
  const exec = new ModelRunnerExecutor(runner);
  const admission = new Admission(Number.MAX_SAFE_INTEGER);
  const prefix = o.prefix ? new PrefixCache({ admission, release: (seqs) => seqs.forEach((s) => runner.release(s)) }) : undefined;
  const sched = new Scheduler(exec, {
    maxInFlight: 1,
    maxBatch: 8,
    prefillChunk: o.prefillChunk ?? 16,
    vocab: m.config.llm.vocabSize,
    prefix,
    onRelease: (s) => {
      if (!prefix?.retain(s)) runner.release(s.id);
    },
  });
  let n = 0;
  /** `group`: the choices of one request (OpenAI's n) share it, so they prefill the prompt once. */
  const answer = async (ids: number[], image?: { px: Float32Array; tiles: number }, group?: string): Promise<InProcessAnswer> => {
    const t0 = performance.now();
    const lookup = prefix?.lookup(ids, imageRuns(ids, IMG, image ? TileEmbeddingCache.tileKeys(image.px, image.tiles) : []));
    const vision = Boolean(image) && ids.lastIndexOf(IMG) >= (lookup?.hit?.length ?? 0);
    const rows = vision && image ? await runner.vision(image.px, image.tiles) : undefined;
    const d = new SequenceDecoder(tok, ids, { params: { ...GREEDY, maxNewTokens: o.steps, ignoreEos: true }, eosTokenIds: m.generation.eosTokenIds, seed: 0 });
    let first = 0;
    const seq = new Sequence(`s${n++}`, ids, ids.length, d, rows, IMG, runner.hidden, () => (first ||= performance.now()));
    seq.prefix = lookup;
    seq.group = group;
    sched.add(seq);
    await seq.done;
    return { tokens: d.tokens, logits: exec.logits.get(seq.id)!, cached: seq.cachedTokens, ttftMs: first - t0, vision };
  };
  return { answer, prefix, exec };
}
