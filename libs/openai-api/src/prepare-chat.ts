import { PromptError, encodeRequest } from '@ivl/prompt';
import { MAX_TILES_LIMIT, planTiles, videoPromptPrefix } from '@ivl/preprocess';
import type { SubmitRequest } from '@ivl/queue';
import type { ChatInput } from './chat-input';
import { type CardConversation, type ImageSlot, toCardConversation } from './conversation';
import { ApiError, badRequest, notFound } from './errors';
import type { RequestLimits } from './limits';
import type { AddressPolicy } from './media/address-policy';
import { loadMedia } from './media/load-media';
import { probeImage } from './media/probe-image';
import { probeVideo } from './media/probe-video';
import type { ServedModel } from './served-model';

export interface PrepareContext {
  model: ServedModel;
  limits: RequestLimits;
  /** Test hook: replaces the public-address check for media URLs. */
  addressPolicy?: AddressPolicy;
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
  const conv = toCardConversation(input.messages);
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

  const promptTokens = countPrompt(conv, numPatches, video?.numSegments, ctx);
  const maxTokens = tokenBudget(promptTokens, input.maxTokens, ctx);
  return {
    model: model.names[0],
    promptTokens,
    maxTokens,
    stream: input.stream,
    includeUsage: input.includeUsage,
    numPatches,
    submit: {
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
      },
    },
  };
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
  const maxNum = checkMaxNum(slot.maxNum, `${slot.param}.max_dynamic_patch`, ctx) ?? requestMaxNum ?? model.config.maxDynamicPatch;
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

function countPrompt(conv: CardConversation, numPatches: number[], frames: number | undefined, ctx: PrepareContext): number {
  try {
    const enc = encodeRequest(ctx.model.tokenizer, {
      system: conv.system,
      history: conv.history,
      // The worker prepends the card's frame lines to the question of a video request.
      question: frames ? videoPromptPrefix(frames) + conv.question : conv.question,
      numPatchesList: numPatches,
      numImageToken: ctx.model.config.numImageToken,
    });
    return enc.ids.length;
  } catch (e) {
    if (e instanceof PromptError) throw badRequest(PROMPT_ERROR_CODES[e.code] ?? 'invalid_value', e.message, 'messages');
    throw e;
  }
}

function tokenBudget(promptTokens: number, requested: number | undefined, ctx: PrepareContext): number {
  const context = Math.min(ctx.model.contextLength, ctx.limits.maxContextTokens ?? Infinity);
  const maxPrompt = Math.min(ctx.limits.maxPromptTokens ?? context, context);
  const maxTokensCap = Math.min(ctx.limits.maxTokens ?? context, context);
  if (promptTokens > maxPrompt || promptTokens >= context) {
    throw new ApiError(400, 'invalid_request_error', 'context_length_exceeded',
      `This model's maximum prompt length is ${Math.min(maxPrompt, context - 1)} tokens. However, your messages resulted in ${promptTokens} tokens (images included). Please reduce the length of the messages or the images.`, 'messages');
  }
  if (requested !== undefined && requested > maxTokensCap) {
    throw badRequest('invalid_value', `max_tokens is ${requested}, above the limit of ${maxTokensCap}`, 'max_tokens');
  }
  if (requested !== undefined && promptTokens + requested > context) {
    throw new ApiError(400, 'invalid_request_error', 'context_length_exceeded',
      `This model's maximum context length is ${context} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the messages, ${requested} in the completion). Please reduce the length of the messages or completion.`, 'max_tokens');
  }
  return requested ?? Math.min(maxTokensCap, context - promptTokens);
}
