import { PromptError, type PromptErrorCode } from './errors';
import { IMG_CONTEXT, IMG_END, IMG_START } from './special-tokens';

/** What users write where an image goes; replaced by an `<img>…</img>` block before tokenization. */
export const IMAGE_PLACEHOLDER = '<image>';
/**
 * (448/14)² · 0.5² context tokens per 448-px tile after pixel shuffle. Still a parameter everywhere, so call sites
 * can take it from the model config they run (tiny test models keep 256 too) and mismatches show.
 */
export const DEFAULT_NUM_IMAGE_TOKEN = 256;

export function countImagePlaceholders(text: string): number {
  return text.split(IMAGE_PLACEHOLDER).length - 1;
}

/**
 * chat()'s rule for a first turn: an image sent with a question that never says where it goes is put in front.
 * The reference applies it only when `history is None`; an empty history is treated the same here because the
 * reference would otherwise fail later on a token-count mismatch rather than produce a different prompt.
 */
export function withImagePrefix(question: string, hasHistory: boolean, numImages: number): string {
  if (numImages > 0 && !hasHistory && !question.includes(IMAGE_PLACEHOLDER)) return `${IMAGE_PLACEHOLDER}\n${question}`;
  return question;
}

export function assertPositiveInteger(value: number, what: string, code: PromptErrorCode = 'INVALID_ARGUMENT'): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new PromptError(code, `${what} must be a positive integer, got ${value}`);
  }
}

export function assertPatchCounts(numPatchesList: readonly number[]): void {
  numPatchesList.forEach((n, i) => assertPositiveInteger(n, `numPatchesList[${i}]`, 'INVALID_PATCH_COUNT'));
}

/** Fails when images and placeholders cannot be paired one to one; the reference would silently misalign them. */
export function assertImageCount(prompt: string, numImages: number): void {
  const placeholders = countImagePlaceholders(prompt);
  if (placeholders !== numImages) {
    throw new PromptError(
      'IMAGE_COUNT_MISMATCH',
      `the prompt has ${placeholders} ${IMAGE_PLACEHOLDER} placeholder(s) but ${numImages} image(s) were given` +
        (placeholders > numImages ? ' (earlier turns keep theirs, so re-send their images too)' : ''),
    );
  }
}

export function imageBlock(numPatches: number, numImageToken: number = DEFAULT_NUM_IMAGE_TOKEN): string {
  return IMG_START + IMG_CONTEXT.repeat(numImageToken * numPatches) + IMG_END;
}

/**
 * Replaces the first remaining placeholder once per image, in order, as chat() does. Mostly for inspection and
 * parity tests: encodeRequest() builds the same ids without materialising thousands of context strings.
 */
export function expandImagePlaceholders(
  prompt: string,
  numPatchesList: readonly number[],
  numImageToken: number = DEFAULT_NUM_IMAGE_TOKEN,
): string {
  assertPatchCounts(numPatchesList);
  assertPositiveInteger(numImageToken, 'numImageToken');
  assertImageCount(prompt, numPatchesList.length);
  const pieces = prompt.split(IMAGE_PLACEHOLDER);
  let out = pieces[0];
  numPatchesList.forEach((n, i) => {
    out += imageBlock(n, numImageToken) + pieces[i + 1];
  });
  return out;
}

/** A question with its placeholders already laid out, plus the tile count for each placeholder. */
export interface ImageQuestion {
  readonly question: string;
  readonly numPatchesList: readonly number[];
}

/** Several images, each in its own `<img>` block and named so the question can refer to "Image-2". */
export function separateImagesQuestion(question: string, patchesPerImage: readonly number[]): ImageQuestion {
  assertPatchCounts(patchesPerImage);
  const prefix = patchesPerImage.map((_, i) => `Image-${i + 1}: ${IMAGE_PLACEHOLDER}\n`).join('');
  return { question: prefix + question, numPatchesList: [...patchesPerImage] };
}

/** Several images' tiles concatenated behind one placeholder: the model sees them as one long image. */
export function combinedImagesQuestion(question: string, patchesPerImage: readonly number[]): ImageQuestion {
  if (patchesPerImage.length === 0) {
    throw new PromptError('INVALID_ARGUMENT', 'combinedImagesQuestion needs at least one image');
  }
  assertPatchCounts(patchesPerImage);
  const total = patchesPerImage.reduce((a, b) => a + b, 0);
  return { question: `${IMAGE_PLACEHOLDER}\n${question}`, numPatchesList: [total] };
}

/** The model card's video form: one single-tile placeholder per sampled frame, numbered from 1, no hyphen. */
export function videoQuestion(question: string, numFrames: number): ImageQuestion {
  assertPositiveInteger(numFrames, 'numFrames');
  let prefix = '';
  for (let i = 1; i <= numFrames; i++) prefix += `Frame${i}: ${IMAGE_PLACEHOLDER}\n`;
  return { question: prefix + question, numPatchesList: new Array<number>(numFrames).fill(1) };
}
