import { Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ModelConfig } from '@ivl/checkpoint';
import { RequestInput, RequestError, prepareInput, RequestLimits } from '@ivl/requests';
import { SequenceDecoder, StepResult, type TokenConstraint, validateSampling } from '@ivl/generation';
import type { GrammarEngine } from '@ivl/grammar';
import type { MediaLoader } from '@ivl/preprocess';
import { IvlTokenizer } from '@ivl/prompt';
import { BlobStore, GenerateJobData, GenerateJobResult, TokenStreamWriter, keys } from '@ivl/queue';
import { type StageModelClient, TileEmbeddingCache } from '@ivl/runtime';
import { injectContext, tracer, tracingEnabled, withSpan } from '@ivl/telemetry';
import { Admission, PrefixCache, PrefixLookup, Scheduler, Sequence, imageRuns, visionNeeded } from '@ivl/engine-core';

export interface ProcessorDeps {
  redis: Redis;
  blobs: BlobStore;
  tokenizer: IvlTokenizer;
  config: ModelConfig;
  eosTokenIds: number[];
  model: StageModelClient;
  scheduler: Scheduler;
  admission: Admission;
  hidden: number;
  pipelineId: string;
  /** Unique per process life, so a restarted driver never reuses a sequence id whose KV another stage still holds. */
  lifeId: string;
  limits?: RequestLimits;
  /** Where images and videos are decoded and tiled (the driver's MediaPool; default: this thread). */
  media?: MediaLoader;
  active: Map<string, Sequence>;
  log: (msg: string) => void;
  /** The prefix cache (absent when --prefix-cache off). */
  prefix?: PrefixCache;
  /** The grammar engine, started on the first structured-output job. */
  grammar?: () => Promise<GrammarEngine>;
  onFinished?: (r: GenerateJobResult, job: Job<GenerateJobData>) => void;
  /** A job went back to the queue because admission had no room: stop taking jobs until a sequence ends. */
  onNoRoom?: () => void;
}

/**
 * The sequence id of one run of a job on this pipeline, in this process life: a new one for every start (a job the
 * ring failed is started again without using an attempt), so no run ever meets KV that an earlier run left.
 */
export function sequenceIdOf(job: Job, d: { pipelineId: string; lifeId: string }): string {
  return `${job.id}:${job.attemptsStarted ?? job.attemptsMade}:${d.pipelineId}:${d.lifeId}`;
}

/** Errors that no retry can fix: the job fails at once with the reason. */
const PERMANENT = new Set(['RequestError', 'PromptError', 'PreprocessError', 'SamplingError']);

/**
 * Runs one queue job on this pipeline: media from blobs, the model card's preprocessing and prompt, the vision
 * pass, admission, generation through the scheduler, and the token stream. A retried job (after a stall or a
 * broken ring) replays the tokens an earlier attempt already published and continues after them, so its stream
 * never repeats and its result is the same.
 */
export async function processJob(d: ProcessorDeps, job: Job<GenerateJobData, GenerateJobResult>, token?: string): Promise<GenerateJobResult> {
  const started = Date.now();
  const data = job.data;
  // Which run of the job this is (0 first): a run failed by a broken ring is started again without using an attempt.
  const attempt = Math.max(0, (job.attemptsStarted ?? job.attemptsMade + 1) - 1);
  const seqId = sequenceIdOf(job, d);
  const writer = await TokenStreamWriter.claim(d.redis, job.id!, seqId);
  const fail = async (e: Error): Promise<never> => {
    if (PERMANENT.has(e.name)) {
      await writer.end('error', e.message).catch(() => undefined);
      throw new UnrecoverableError(e.message);
    }
    throw e;
  };
  if (await d.redis.exists(keys.cancel(job.id!))) {
    await writer.end('cancelled');
    return emptyResult('cancelled', started, data);
  }
  let input: RequestInput;
  try {
    input = {
      ...data.input,
      images: await Promise.all((data.input.images ?? []).map(async (im) => ({ data: await d.blobs.get(im.blob), maxNum: im.maxNum }))),
      video: data.input.video ? { ...data.input.video, data: await d.blobs.get(data.input.video.blob) } : undefined,
    };
  } catch (e) {
    return fail(Object.assign(new RequestError('media_expired', (e as Error).message)));
  }
  let prepared;
  try {
    validateSampling({ ...data.sampling }, d.config.llm.maxPositionEmbeddings, d.config.llm.vocabSize);
    prepared = data.rawPrompt
      ? rawPrompt(d.tokenizer, input.question, d.config.imageContextTokenId)
      : await withSpan('preprocess', () => ({ 'ivl.images': input.images?.length ?? 0, 'ivl.video': Boolean(input.video) }), () => prepareInput(d.tokenizer, d.config, input, d.limits, d.media));
  } catch (e) {
    return fail(e as Error);
  }
  let constraint: TokenConstraint | undefined;
  if (data.grammar) {
    if (!d.grammar) return fail(new RequestError('grammar_unavailable', 'this worker has no grammar engine'));
    const spec = data.grammar;
    constraint = await d.grammar().then((g) => g.constraint(spec)).catch((e: Error) => fail(new RequestError('invalid_grammar', `response_format cannot be compiled: ${e.message}`)));
  }
  const decoder = new SequenceDecoder(d.tokenizer, prepared.ids, {
    params: data.sampling,
    eosTokenIds: d.eosTokenIds,
    seed: data.sampling.seed,
    maxTokens: d.config.llm.maxPositionEmbeddings - prepared.ids.length,
    constraint,
    strip: !data.rawPrompt,
  });
  writer.published.forEach((t, i) => decoder.replay(t, writer.publishedLogprobs[i]));
  const promptTokens = prepared.ids.length;
  const result = (reason = decoder.finishReason ?? 'stop'): GenerateJobResult => {
    const size = prepared.imageSizes[0];
    return {
      text: decoder.outputText,
      finishReason: reason,
      promptTokens,
      cachedTokens: seq?.cachedTokens ?? 0,
      completionTokens: decoder.tokens.length,
      inputIds: data.returnTokens ? prepared.ids : undefined,
      tokens: data.returnTokens ? decoder.tokens : undefined,
      logprobs: data.sampling.logprobs !== undefined ? decoder.logprobs : undefined,
      grounding: size ? decoder.grounding(size.width, size.height) : undefined,
      prompt: data.returnTokens ? prepared.prompt : undefined,
      numPatches: prepared.numPatchesList,
      timings: {
        queueMs: Math.max(0, (job.processedOn ?? started) - data.enqueuedAt),
        ttftMs: seq?.firstTokenAt ? seq.firstTokenAt - started : 0,
        prefillMs: seq?.firstTokenAt && seq.prefillStartedAt ? seq.firstTokenAt - seq.prefillStartedAt : 0,
        decodeMs: seq?.firstTokenAt ? Date.now() - seq.firstTokenAt : 0,
        totalMs: Date.now() - started,
      },
      servedBy: d.pipelineId,
      attempt,
    };
  };
  let seq: Sequence | undefined = undefined;
  if (decoder.finished || writer.ended) {
    // An earlier attempt finished generating but did not store the result: answer from what it published.
    constraint?.dispose();
    await writer.end(decoder.finishReason ?? 'stop');
    return result();
  }
  // Intake from admission: a job this pipeline cannot start now goes back to the queue's wait list (for another
  // replica, or for this one once a sequence ends) instead of waiting here, invisible to the backlog metrics.
  const reserve = Math.min(d.config.llm.maxPositionEmbeddings, prepared.ids.length + data.sampling.maxNewTokens);
  try {
    d.admission.check(reserve);
  } catch (e) {
    return fail(new RequestError('too_long', (e as Error).message));
  }
  const ids = [...prepared.ids, ...writer.published];
  // The cached prefix this sequence starts from (pinned until its first chunk has run), found before admission so
  // that making room never evicts it.
  // Each tile is hashed once: the keys salt the prefix cache's image runs and look up the vision cache.
  const tileKeys = prepared.numTiles && (d.prefix || d.model.visionCache) ? TileEmbeddingCache.tileKeys(prepared.pixelValues, prepared.numTiles) : [];
  const cached: PrefixLookup | undefined = d.prefix?.lookup(ids, imageRuns(prepared.ids, d.config.imageContextTokenId, tileKeys));
  d.prefix?.makeRoom(reserve);
  if (!d.admission.tryAcquire(reserve)) {
    d.prefix?.unpin(cached);
    if (token) {
      d.onNoRoom?.();
      await job.moveToWait(token);
      throw new WaitingError();
    }
    await d.admission.acquire(reserve);
  }
  // The next request of this size would not fit (cached prefixes can always be evicted): stop taking jobs now
  // rather than take one only to hand it back.
  if (token && !(d.prefix ? d.admission.fitsWithoutCached(reserve) : d.admission.fits(reserve))) d.onNoRoom?.();
  const p = prepared;
  let imageRows;
  try {
    imageRows = p.numTiles > 0 && visionNeeded(p.ids, d.config.imageContextTokenId, cached) ? await withSpan('vision', { 'ivl.tiles': p.numTiles }, () => d.model.vision(p.pixelValues, p.numTiles, tileKeys)) : undefined;
  } catch (e) {
    d.prefix?.unpin(cached);
    d.admission.release(reserve);
    throw e;
  }
  // Appends are queued in order without holding up the scheduler; one that fails (fenced, Redis full or gone)
  // stops this sequence, and the attempt fails with that reason below.
  let published = writer.published.length;
  const onStep = (step: StepResult) => {
    if (step.token < 0) return; // ended without a token (a failed grammar)
    const index = published;
    published += 1;
    writer.appendInOrder(index, [step.token], step.delta, step.logprob ? [step.logprob] : undefined, (e) => {
      d.log(`job ${job.id} attempt ${attempt}: token stream write failed (${e.message}); stopping the sequence`);
      if (seq) d.scheduler.cancel(seq);
    });
  };
  seq = new Sequence(seqId, ids, prepared.ids.length, decoder, imageRows, d.config.imageContextTokenId, d.hidden, onStep);
  seq.prefix = cached;
  // With or without the prefix cache: sharing the prompt between the choices of one request is no cross-request cache.
  seq.group = data.choiceGroup;
  seq.trace = injectContext();
  d.active.set(job.id!, seq);
  try {
    if (await d.redis.exists(keys.cancel(job.id!))) seq.cancelled = true;
    if (seq.cancelled) decoder.abort('cancelled');
    else {
      d.scheduler.add(seq);
      await seq.done;
    }
    await writer.flush();
    await writer.end(decoder.finishReason ?? 'stop', decoder.error, seq.cachedTokens);
    if (tracingEnabled() && seq.firstTokenAt && seq.prefillStartedAt) {
      // Prefill and decode are windows of the continuous batch, not calls: recorded as spans after the fact, one
      // decode span per answer (not one per token).
      tracer().startSpan('prefill', { startTime: seq.prefillStartedAt, attributes: { 'ivl.prompt_tokens': promptTokens } }).end(seq.firstTokenAt);
      tracer().startSpan('decode', { startTime: seq.firstTokenAt, attributes: { 'ivl.generated_tokens': decoder.tokens.length } }).end(Date.now());
    }
    const r = result();
    d.onFinished?.(r, job);
    return r;
  } catch (e) {
    await writer.flush().catch(() => undefined);
    d.log(`job ${job.id} attempt ${attempt}: ${(e as Error).message}`);
    throw e;
  } finally {
    d.active.delete(job.id!);
    d.prefix?.unpin(cached); // a sequence that never started (cancelled first); the scheduler unpins the others
    d.admission.release(reserve);
  }
}

/** /v1/completions: the prompt is tokenized as it is, without the chat template; it cannot hold image tokens. */
function rawPrompt(tok: IvlTokenizer, text: string, imageContextId: number) {
  const ids = tok.encode(text);
  if (ids.includes(imageContextId)) throw new RequestError('invalid_prompt', 'a raw prompt cannot contain image-context tokens');
  if (!ids.length) throw new RequestError('invalid_prompt', 'the prompt is empty');
  return { ids, prompt: text, pixelValues: new Float32Array(0), numTiles: 0, numPatchesList: [] as number[], imageSizes: [] as Array<{ width: number; height: number }> };
}

function emptyResult(reason: GenerateJobResult['finishReason'], started: number, data: GenerateJobData): GenerateJobResult {
  return {
    text: '',
    finishReason: reason,
    promptTokens: 0,
    completionTokens: 0,
    timings: { queueMs: Math.max(0, started - data.enqueuedAt), ttftMs: 0, prefillMs: 0, decodeMs: 0, totalMs: Date.now() - started },
  };
}
