import { buildConversation, type Conversation } from './conversation';
import { PromptError } from './errors';
import {
  DEFAULT_NUM_IMAGE_TOKEN,
  IMAGE_PLACEHOLDER,
  assertImageCount,
  assertPatchCounts,
  assertPositiveInteger,
  expandImagePlaceholders,
  withImagePrefix,
} from './image-placeholders';
import type { IvlTokenizer } from './ivl-tokenizer';
import { IMG_CONTEXT, IMG_END, IMG_START } from './special-tokens';

/** One chat() call: the conversation plus the tiles of every image it refers to. */
export interface ChatRequest extends Conversation {
  /** Tiles per image, one entry per `<image>` in the whole prompt (earlier turns included); omit for text only. */
  readonly numPatchesList?: readonly number[];
  /** Context tokens per tile; 256 for InternVL2.5. */
  readonly numImageToken?: number;
}

/** A run of `<IMG_CONTEXT>` ids, where one image's features are scattered into the embeddings. */
export interface ImageSpan {
  readonly start: number;
  readonly length: number;
}

export interface EncodedRequest {
  readonly ids: number[];
  /** The template text with `<image>` placeholders still in place (readable in logs, unlike the expansion). */
  readonly prompt: string;
  readonly imageSpans: readonly ImageSpan[];
  /** Total `<IMG_CONTEXT>` ids; always Σ numPatchesList · numImageToken, i.e. the rows of the vision features. */
  readonly imageContextCount: number;
}

/** chat()'s prompt before image expansion: the image prefix rule applied, then the template. */
export function buildChatPrompt(request: ChatRequest): string {
  const numImages = request.numPatchesList?.length ?? 0;
  const hasHistory = (request.history?.length ?? 0) > 0;
  return buildConversation({ ...request, question: withImagePrefix(request.question, hasHistory, numImages) });
}

/** The exact string chat() hands to the tokenizer. */
export function buildExpandedPrompt(request: ChatRequest): string {
  return expandImagePlaceholders(buildChatPrompt(request), request.numPatchesList ?? [], request.numImageToken);
}

/**
 * Token ids of a request, equal to encoding buildExpandedPrompt(request), but with each image block inserted as
 * ids: the text around an `<img>` block is split there by the tokenizer anyway, and skipping thousands of
 * `<IMG_CONTEXT>` strings keeps a full 13-tile prompt cheap.
 */
export function encodeRequest(tokenizer: IvlTokenizer, request: ChatRequest): EncodedRequest {
  const numPatchesList = request.numPatchesList ?? [];
  const numImageToken = request.numImageToken ?? DEFAULT_NUM_IMAGE_TOKEN;
  assertPatchCounts(numPatchesList);
  assertPositiveInteger(numImageToken, 'numImageToken');
  const prompt = buildChatPrompt(request);
  assertImageCount(prompt, numPatchesList.length);

  const imgStart = requiredId(tokenizer, IMG_START);
  const imgEnd = requiredId(tokenizer, IMG_END);
  const imgContext = requiredId(tokenizer, IMG_CONTEXT);
  const pieces = prompt.split(IMAGE_PLACEHOLDER);
  // InternLM2's tokenizer puts BOS first (add_bos_token); the Qwen2 sizes have none.
  const ids = tokenizer.bosTokenId === null ? tokenizer.encode(pieces[0]) : [tokenizer.bosTokenId, ...tokenizer.encode(pieces[0])];
  numPatchesList.forEach((n, i) => {
    ids.push(imgStart);
    for (let k = n * numImageToken; k > 0; k--) ids.push(imgContext);
    ids.push(imgEnd);
    for (const id of tokenizer.encode(pieces[i + 1])) ids.push(id);
  });

  // Scanned rather than recorded: a literal <IMG_CONTEXT> typed by a user is a real token too and must be seen.
  const imageSpans = contextSpans(ids, imgContext);
  const imageContextCount = imageSpans.reduce((a, s) => a + s.length, 0);
  const expected = numImageToken * numPatchesList.reduce((a, b) => a + b, 0);
  if (imageContextCount !== expected) {
    throw new PromptError(
      'IMAGE_TOKEN_MISMATCH',
      `the prompt holds ${imageContextCount} ${IMG_CONTEXT} tokens but the images provide ${expected} feature rows ` +
        '(is there a literal image tag in the text?)',
    );
  }
  return { ids, prompt, imageSpans, imageContextCount };
}

function requiredId(tokenizer: IvlTokenizer, token: string): number {
  const id = tokenizer.tokenToId(token);
  if (id === undefined) {
    throw new PromptError('INVALID_ARGUMENT', `the tokenizer has no ${token} token; is it an InternVL tokenizer?`);
  }
  return id;
}

function contextSpans(ids: readonly number[], contextId: number): ImageSpan[] {
  const spans: ImageSpan[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== contextId) continue;
    const start = i;
    while (i + 1 < ids.length && ids[i + 1] === contextId) i++;
    spans.push({ start, length: i - start + 1 });
  }
  return spans;
}
