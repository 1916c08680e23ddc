import { type ChatRequest, type PromptEncoder, PromptError } from '@ivl/prompt';
import { MAX_TILES_LIMIT, planTiles, videoPromptPrefix } from '@ivl/preprocess';
import type { GrammarEngine } from '@ivl/grammar';
import type { JobGrammar, SubmitRequest } from '@ivl/queue';
import type { ChatInput } from './chat-input';
import { type CardConversation, type ImageSlot, toCardConversation } from './conversation';
import { ApiError, badRequest, notFound } from './errors';
import type { RequestLimits } from './limits';
import type { AddressPolicy } from './media/address-policy';
import { loadMedia } from './media/load-media';
import { probeImage } from './media/probe-image';
import { probeVideo } from './media/probe-video';
import type { ServedModel } from './served-model';
import { encoderOf, lengthBound, promptTooLong, refuseCertainlyTooLong, tokenizing } from './prompt-encoding';
import { responseGrammar } from './response-format';
import { type ToolPlan, planTools } from './tools/tool-grammar';
import { toolSystemPrompt } from './tools/tool-prompt';

export interface PrepareContext {
  model: ServedModel;
  limits: RequestLimits;
  /** Test hook: replaces the public-address check for media URLs. */
  addressPolicy?: AddressPolicy;
  /** Compiles grammars (response_format, tools) so that one the worker could not compile is refused here. */
  grammar?: () => Promise<GrammarEngine>;
  /** Where prompts are tokenized: the gateway's TokenizerPool, off its event loop. Default: this thread. */
  encoder?: PromptEncoder;
}

/** A request that passed every check, ready for GenerateClient.submit. */
export interface PreparedChat {
  submit: SubmitRequest;
  /** The reported model name. */
  model: string;
  /** Exactly the prompt the worker will build (same template, same tile rule, same tokenizer). */
  promptTokens: number;
  maxTokens: number;
  stream: boolean;
  includeUsage: boolean;
  /** Tiles per `<image>` (video frames included). */
  numPatches: number[];
  /** Choices: one job each, seeds seed, seed+1, … */
  n: number;
  logprobs: boolean;
  /** Tools offered; the answer is split into text and tool calls unless tool_choice was none. */
  tools?: ToolPlan;
}

/**
 * Everything that can be wrong with a chat request is found here, before it is queued: model name, message
 * structure, media (scheme, SSRF, size, format, pixels), tiles, prompt length and the token budget.
 */
export async function prepareChat(input: ChatInput, ctx: PrepareContext): Promise<PreparedChat> {
  const { model, limits } = ctx;
  if (!model.names.includes(input.model)) {
    throw notFound('model_not_found', `The model \`${input.model}\` does not exist. Available: ${model.names.join(', ')}`, 'model');
  }
  if (input.stop.length > limits.maxStopSequences) {
    throw badRequest('invalid_value', `at most ${limits.maxStopSequences} stop sequences are allowed`, 'stop');
  }
  const n = checkN(input.n, limits.maxChoices);
  const sampling = samplingOptions(input, model);
  const tools = planTools(input.tools, input.toolChoice);
  const formatGrammar = responseGrammar(input.responseFormat);
  if (formatGrammar && tools?.grammar) throw badRequest('invalid_value', 'response_format cannot be combined with tools unless tool_choice is none', 'response_format');
  const grammar = tools?.grammar ?? formatGrammar;
  if (grammar) await checkGrammar(grammar, tools?.grammar ? 'tools' : input.responseFormat?.type === 'json_schema' ? 'response_format.json_schema.schema' : 'response_format', ctx);
  const conv = toCardConversation(input.messages);
  if (tools) conv.system = toolSystemPrompt(conv.system, tools.tools);
  if (conv.images.length > limits.maxImagesPerRequest) {
    throw badRequest('too_many_images', `the request has ${conv.images.length} images (earlier turns included); the limit is ${limits.maxImagesPerRequest}`, conv.images[limits.maxImagesPerRequest].param);
  }
  const requestMaxNum = checkMaxNum(input.maxDynamicPatch, 'max_dynamic_patch', ctx);
  const images = await Promise.all(conv.images.map((slot) => prepareImage(slot, requestMaxNum, ctx)));
  const video = conv.video ? await prepareVideo(conv, ctx) : undefined;

  const numPatches = [...images.map((i) => i.numTiles), ...(video ? new Array<number>(video.numSegments).fill(1) : [])];
  const tiles = numPatches.reduce((a, b) => a + b, 0);
  if (tiles > limits.maxTilesPerRequest) {
    throw badRequest('too_many_tiles', `the images of this request make ${tiles} tiles of 448 px; the limit is ${limits.maxTilesPerRequest} (lower max_dynamic_patch or send fewer or smaller images)`, 'messages');
  }

  const promptTokens = (await promptIds(conv, numPatches, video?.numSegments, ctx)).length;
  const maxTokens = tokenBudget(promptTokens, input.maxTokens, ctx);
  return {
    model: model.names[0],
    promptTokens,
    maxTokens,
    stream: input.stream,
    includeUsage: input.includeUsage,
    numPatches,
    n,
    logprobs: sampling.logprobs !== undefined,
    tools,
    submit: {
      grammar,
      model: model.names[0],
      input: {
        system: conv.system,
        history: conv.history.length ? conv.history : undefined,
        question: conv.question,
        images: images.length ? images.map((i) => ({ data: i.data, maxNum: i.maxNum })) : undefined,
        video: video ? { data: video.data, numSegments: video.numSegments, bound: video.bound } : undefined,
        maxNum: requestMaxNum,
      },
      sampling: {
        maxNewTokens: maxTokens,
        temperature: input.temperature,
        topK: input.topK,
        topP: input.topP,
        repetitionPenalty: input.repetitionPenalty,
        seed: input.seed,
        stop: input.stop,
        skipSpecialTokens: input.skipSpecialTokens === false ? false : undefined,
        ...sampling,
      },
    },
  };
}

/**
 * The exact token ids the worker will run for a chat request (template, image blocks expanded, tools in the system
 * prompt), for /tokenize. Media are loaded and checked as for a real request, since their tiles decide the count.
 */
export async function tokenizeChat(input: ChatInput, ctx: PrepareContext): Promise<number[]> {
  const tools = planTools(input.tools, input.toolChoice);
  const conv = toCardConversation(input.messages);
  if (tools) conv.system = toolSystemPrompt(conv.system, tools.tools);
  const requestMaxNum = checkMaxNum(input.maxDynamicPatch, 'max_dynamic_patch', ctx);
  const images = await Promise.all(conv.images.map((slot) => prepareImage(slot, requestMaxNum, ctx)));
  const video = conv.video ? await prepareVideo(conv, ctx) : undefined;
  const numPatches = [...images.map((i) => i.numTiles), ...(video ? new Array<number>(video.numSegments).fill(1) : [])];
  return promptIds(conv, numPatches, video?.numSegments, ctx);
}

export function checkN(n: number | undefined, max: number): number {
  if (n === undefined) return 1;
  if (!Number.isInteger(n) || n < 1 || n > max) throw badRequest('invalid_value', `n must be an integer between 1 and ${max}, got ${n}`, 'n');
  return n;
}

/** The OpenAI sampling options beyond the basic ones, checked against the vocabulary. */
export function samplingOptions(input: Pick<ChatInput, 'topLogprobs' | 'logprobs' | 'logitBias' | 'presencePenalty' | 'frequencyPenalty' | 'minP'>, model: ServedModel) {
  const vocab = model.config.llm.vocabSize;
  if (input.topLogprobs !== undefined && !input.logprobs) throw badRequest('invalid_value', 'top_logprobs requires logprobs to be true', 'top_logprobs');
  if (input.topLogprobs !== undefined && input.topLogprobs > 20) throw badRequest('invalid_value', `top_logprobs must be at most 20, got ${input.topLogprobs}`, 'top_logprobs');
  const bias = input.logitBias && Object.keys(input.logitBias).length ? input.logitBias : undefined;
  for (const [id, v] of Object.entries(bias ?? {})) {
    if (!/^\d+$/.test(id) || Number(id) >= vocab) throw badRequest('invalid_value', `logit_bias has the unknown token id ${id}; ids are integers below ${vocab}`, 'logit_bias');
    if (!(v >= -100 && v <= 100)) throw badRequest('invalid_value', `logit_bias values must be between -100 and 100 (token ${id}: ${v})`, 'logit_bias');
  }
  return {
    presencePenalty: input.presencePenalty || undefined,
    frequencyPenalty: input.frequencyPenalty || undefined,
    minP: input.minP || undefined,
    logitBias: bias,
    logprobs: input.logprobs ? (input.topLogprobs ?? 0) : undefined,
  };
}

async function checkGrammar(g: JobGrammar, param: string, ctx: PrepareContext): Promise<void> {
  if (!ctx.grammar) return;
  const engine = await ctx.grammar();
  try {
    await engine.validate(g);
  } catch (e) {
    const what = param === 'tools' ? 'the tools\' parameter schemas cannot be compiled into a grammar' : 'the response format cannot be compiled into a grammar';
    throw badRequest('invalid_value', `${what}: ${(e as Error).message}`, param);
  }
}

function checkMaxNum(value: number | undefined, param: string, ctx: PrepareContext): number | undefined {
  if (value === undefined) return undefined;
  const cap = Math.min(ctx.limits.maxDynamicPatch, MAX_TILES_LIMIT);
  if (!Number.isInteger(value) || value < 1 || value > cap) {
    throw badRequest('invalid_value', `max_dynamic_patch must be an integer between 1 and ${cap}, got ${value}`, param);
  }
  return value;
}

async function prepareImage(slot: ImageSlot, requestMaxNum: number | undefined, ctx: PrepareContext) {
  const { limits, model } = ctx;
  // detail "low" is OpenAI's low-resolution mode: one 448-px tile (InternVL's thumbnail-only view).
  const maxNum = slot.detail === 'low' ? 1 : (checkMaxNum(slot.maxNum, `${slot.param}.max_dynamic_patch`, ctx) ?? requestMaxNum ?? model.config.maxDynamicPatch);
  const data = await loadMedia(slot.source, 'image', slot.param, {
    maxBytes: limits.maxImageBytes,
    timeoutMs: limits.urlTimeoutMs,
    maxRedirects: limits.maxRedirects,
    allowPrivateUrls: limits.allowPrivateUrls,
    policy: ctx.addressPolicy,
  });
  const { width, height } = await probeImage(data, limits.maxImagePixels, slot.param);
  // A model without dynamic tiling resizes every image to one tile.
  const numTiles = model.config.dynamicImageSize
    ? planTiles(width, height, { maxNum, minNum: Math.min(model.config.minDynamicPatch, maxNum), useThumbnail: model.config.useThumbnail }).numTiles
    : 1;
  return { data, maxNum, numTiles };
}

async function prepareVideo(conv: CardConversation, ctx: PrepareContext) {
  const { limits } = ctx;
  const v = conv.video!;
  const numSegments = v.numSegments ?? limits.defaultVideoFrames;
  if (numSegments < 1 || numSegments > limits.maxVideoFrames) {
    throw badRequest('invalid_value', `num_segments must be between 1 and ${limits.maxVideoFrames}, got ${numSegments}`, `${v.param}.num_segments`);
  }
  if (v.bound && !(v.bound[0] < v.bound[1])) {
    throw badRequest('invalid_value', 'bound must be [start, end] in seconds with start < end', `${v.param}.bound`);
  }
  const data = await loadMedia(v.source, 'video', v.param, {
    maxBytes: limits.maxVideoBytes,
    timeoutMs: limits.urlTimeoutMs,
    maxRedirects: limits.maxRedirects,
    allowPrivateUrls: limits.allowPrivateUrls,
    policy: ctx.addressPolicy,
  });
  probeVideo(data, v.param);
  return { data, numSegments, bound: v.bound };
}

const PROMPT_ERROR_CODES: Record<string, string> = {
  IMAGE_COUNT_MISMATCH: 'image_placeholder_mismatch',
  IMAGE_TOKEN_MISMATCH: 'invalid_image_token',
};

/**
 * The prompt's ids, tokenized by the context's encoder. A prompt that is certainly too long for the context (by
 * PromptLengthBound, from its bytes) is refused first, without costing any tokenizing; /tokenize too, since no
 * request could use it.
 */
async function promptIds(conv: CardConversation, numPatches: number[], frames: number | undefined, ctx: PrepareContext): Promise<number[]> {
  const request: ChatRequest = {
    system: conv.system,
    history: conv.history,
    // The worker prepends the card's frame lines to the question of a video request.
    question: frames ? videoPromptPrefix(frames) + conv.question : conv.question,
    numPatchesList: numPatches,
    numImageToken: ctx.model.config.numImageToken,
  };
  try {
    refuseCertainlyTooLong(lengthBound(ctx).minRequestTokens(ctx.model.tokenizer, request), ctx);
    return (await tokenizing(() => encoderOf(ctx).encodeRequest(request))).ids;
  } catch (e) {
    if (e instanceof PromptError) throw badRequest(PROMPT_ERROR_CODES[e.code] ?? 'invalid_value', e.message, 'messages');
    throw e;
  }
}

export function tokenBudget(promptTokens: number, requested: number | undefined, ctx: PrepareContext): number {
  const context = Math.min(ctx.model.contextLength, ctx.limits.maxContextTokens ?? Infinity);
  const maxPrompt = Math.min(ctx.limits.maxPromptTokens ?? context, context);
  const maxTokensCap = Math.min(ctx.limits.maxTokens ?? context, context);
  if (promptTokens > maxPrompt || promptTokens >= context) throw promptTooLong(promptTokens, ctx);
  if (requested !== undefined && requested > maxTokensCap) {
    throw badRequest('invalid_value', `max_tokens is ${requested}, above the limit of ${maxTokensCap}`, 'max_tokens');
  }
  if (requested !== undefined && promptTokens + requested > context) {
    throw new ApiError(400, 'invalid_request_error', 'context_length_exceeded',
      `This model's maximum context length is ${context} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the messages, ${requested} in the completion). Please reduce the length of the messages or completion.`, 'max_tokens');
  }
  return requested ?? Math.min(maxTokensCap, context - promptTokens);
}
