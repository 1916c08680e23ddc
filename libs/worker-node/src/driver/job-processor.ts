import { Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ModelConfig } from '@ivl/checkpoint';
import { EngineInput, RequestError, prepareInput, RequestLimits } from '@ivl/engine';
import { SequenceDecoder, StepResult, validateSampling } from '@ivl/generation';
import { IMG_CONTEXT_ID, IvlTokenizer } from '@ivl/prompt';
import { BlobStore, GenerateJobData, GenerateJobResult, TokenStreamWriter, keys } from '@ivl/queue';
import type { StageEngineClient } from '@ivl/runtime';
import { injectContext, tracer, tracingEnabled, withSpan } from '@ivl/telemetry';
import { Admission, Scheduler, Sequence } from '@ivl/engine-core';

export interface ProcessorDeps {
  redis: Redis;
  blobs: BlobStore;
  tokenizer: IvlTokenizer;
  config: ModelConfig;
  eosTokenIds: number[];
  engine: StageEngineClient;
  scheduler: Scheduler;
  admission: Admission;
  hidden: number;
  pipelineId: string;
  limits?: RequestLimits;
  active: Map<string, Sequence>;
  log: (msg: string) => void;
  onFinished?: (r: GenerateJobResult, job: Job<GenerateJobData>) => void;
  /** A job went back to the queue because admission had no room: stop taking jobs until a sequence ends. */
  onNoRoom?: () => void;
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
  const attempt = job.attemptsMade;
  const seqId = `${job.id}:${attempt}:${d.pipelineId}`;
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
  let input: EngineInput;
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
    validateSampling({ ...data.sampling }, d.config.llm.maxPositionEmbeddings);
    prepared = await withSpan('preprocess', () => ({ 'ivl.images': input.images?.length ?? 0, 'ivl.video': Boolean(input.video) }), () => prepareInput(d.tokenizer, d.config, input, d.limits));
  } catch (e) {
    return fail(e as Error);
  }
  const decoder = new SequenceDecoder(d.tokenizer, prepared.ids, {
    params: data.sampling,
    eosTokenIds: d.eosTokenIds,
    seed: data.sampling.seed,
    maxTokens: d.config.llm.maxPositionEmbeddings - prepared.ids.length,
  });
  for (const t of writer.published) decoder.replay(t);
  const promptTokens = prepared.ids.length;
  const result = (reason = decoder.finishReason ?? 'stop'): GenerateJobResult => {
    const size = prepared.imageSizes[0];
    return {
      text: decoder.outputText,
      finishReason: reason,
      promptTokens,
      completionTokens: decoder.tokens.length,
      inputIds: data.returnTokens ? prepared.ids : undefined,
      tokens: data.returnTokens ? decoder.tokens : undefined,
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
  if (!d.admission.tryAcquire(reserve)) {
    if (token) {
      d.onNoRoom?.();
      await job.moveToWait(token);
      throw new WaitingError();
    }
    await d.admission.acquire(reserve);
  }
  // The next request of this size would not fit: stop taking jobs now rather than take one only to hand it back.
  if (token && !d.admission.fits(reserve)) d.onNoRoom?.();
  const p = prepared;
  let imageRows;
  try {
    imageRows = p.numTiles ? await withSpan('vision', { 'ivl.tiles': p.numTiles }, () => d.engine.vision(p.pixelValues, p.numTiles)) : undefined;
  } catch (e) {
    d.admission.release(reserve);
    throw e;
  }
  // Publishing is chained per sequence so entries keep their order without holding up the scheduler.
  let published = writer.published.length;
  let publishing: Promise<void> = Promise.resolve();
  const pendingTokens: number[] = [];
  let pendingText = '';
  const onStep = (step: StepResult) => {
    pendingTokens.push(step.token);
    pendingText += step.delta;
    const tokens = pendingTokens.splice(0);
    const text = pendingText;
    pendingText = '';
    const index = published;
    published += tokens.length;
    publishing = publishing.then(() => writer.append(index, tokens, text));
  };
  seq = new Sequence(seqId, [...prepared.ids, ...writer.published], prepared.ids.length, decoder, imageRows, IMG_CONTEXT_ID, d.hidden, onStep);
  seq.trace = injectContext();
  d.active.set(job.id!, seq);
  try {
    if (await d.redis.exists(keys.cancel(job.id!))) seq.cancelled = true;
    if (seq.cancelled) decoder.abort('cancelled');
    else {
      d.scheduler.add(seq);
      await seq.done;
    }
    await publishing;
    await writer.end(decoder.finishReason ?? 'stop');
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
    await publishing.catch(() => undefined);
    d.log(`job ${job.id} attempt ${attempt}: ${(e as Error).message}`);
    throw e;
  } finally {
    d.active.delete(job.id!);
    d.admission.release(reserve);
  }
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
