import type { ModelConfig } from '@ivl/checkpoint';
import { IN_THREAD_MEDIA, MediaLoader } from '@ivl/preprocess';
import {
  IMAGE_PLACEHOLDER,
  IvlTokenizer,
  countImagePlaceholders,
  encodeRequest,
  separateImagesQuestion,
  videoQuestion,
} from '@ivl/prompt';
import { DEFAULT_REQUEST_LIMITS, RequestInput, RequestLimits } from './request-input';
import { RequestError } from './request-error';

export interface PreparedInput {
  ids: number[];
  /** The templated prompt with `<image>` placeholders (what `ivl forward --json` reports as `prompt`). */
  prompt: string;
  /** [numTiles, 3, 448, 448] for all images (or frames) in order; empty without media. */
  pixelValues: Float32Array;
  numTiles: number;
  /** Tiles per `<image>` placeholder. */
  numPatchesList: number[];
  /** Decoded size of each image (grounding boxes are reported in the first image's pixels). */
  imageSizes: Array<{ width: number; height: number }>;
}

/**
 * Does what the model card's chat() does before the model runs: loads and tiles every image (or samples the
 * video's frames), places `<image>` placeholders, applies the internvl2_5 template and tokenizes with the image
 * blocks expanded, checking every limit on the way. Decoding and tiling run in `media` (stage 0 passes its
 * MediaPool, so its event loop stays free; by default on this thread, a few images at a time).
 */
export async function prepareInput(
  tok: IvlTokenizer,
  config: ModelConfig,
  input: RequestInput,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
  media: MediaLoader = IN_THREAD_MEDIA,
): Promise<PreparedInput> {
  const images = input.images ?? [];
  if (images.length > limits.maxImages) throw new RequestError('too_many_images', `the request has ${images.length} images; at most ${limits.maxImages} are allowed`);
  if (images.length && input.video) throw new RequestError('invalid_request', 'a request may hold images or one video, not both');
  let question = input.question;
  let numPatchesList: number[] = [];
  const tiles: Float32Array[] = [];
  const imageSizes: PreparedInput['imageSizes'] = [];

  if (input.video) {
    if (input.video.numSegments > limits.maxVideoFrames) {
      throw new RequestError('too_many_frames', `the video asks for ${input.video.numSegments} frames; at most ${limits.maxVideoFrames} are allowed`);
    }
    const v = await media.loadVideo(input.video.data, { numSegments: input.video.numSegments, bound: input.video.bound, limits: { maxPixels: limits.maxPixelsPerImage } });
    const q = videoQuestion(question, v.numFrames);
    question = q.question;
    numPatchesList = [...q.numPatchesList];
    tiles.push(v.pixelValues);
    imageSizes.push({ width: v.width, height: v.height });
  } else if (images.length) {
    // All images are handed over at once; the loader bounds how many decode together.
    const loaded = await Promise.all(
      images.map((im) =>
        media.loadImage(im.data, {
          maxNum: im.maxNum ?? input.maxNum ?? config.maxDynamicPatch,
          minNum: config.minDynamicPatch,
          useThumbnail: config.useThumbnail,
          limits: { maxPixels: limits.maxPixelsPerImage },
        }),
      ),
    );
    loaded.forEach((l) => {
      tiles.push(l.pixelValues);
      imageSizes.push({ width: l.width, height: l.height });
    });
    const counts = loaded.map((l) => l.numTiles);
    const placeholders = countImagePlaceholders(question) + (input.history ?? []).reduce((n, t) => n + countImagePlaceholders(t.question), 0);
    if (input.combineImages) {
      if (placeholders === 0) question = `${IMAGE_PLACEHOLDER}\n${question}`;
      else if (placeholders !== 1) throw new RequestError('image_count_mismatch', `combined images need one ${IMAGE_PLACEHOLDER} placeholder; the prompt has ${placeholders}`);
      numPatchesList = [counts.reduce((a, b) => a + b, 0)];
    } else {
      if (placeholders === 0) question = images.length === 1 ? `${IMAGE_PLACEHOLDER}\n${question}` : separateImagesQuestion(question, counts).question;
      numPatchesList = counts;
    }
  }
  const numTiles = numPatchesList.reduce((a, b) => a + b, 0);
  if (numTiles > limits.maxTilesPerRequest) throw new RequestError('too_many_tiles', `the request needs ${numTiles} tiles; at most ${limits.maxTilesPerRequest} are allowed`);
  const enc = encodeRequest(tok, { system: input.system, history: input.history, question, numPatchesList, numImageToken: config.numImageToken });
  const context = limits.maxContextTokens ?? config.llm.maxPositionEmbeddings;
  if (enc.ids.length >= context) throw new RequestError('context_length_exceeded', `the prompt has ${enc.ids.length} tokens; the context holds ${context}`);
  return { ids: enc.ids, prompt: enc.prompt, pixelValues: concatTiles(tiles), numTiles, numPatchesList, imageSizes };
}

/** One tensor for all media; a single image's tensor is used as it is (24 MB at 10 tiles need no copy). */
function concatTiles(tiles: Float32Array[]): Float32Array {
  if (tiles.length === 1) return tiles[0];
  const pixelValues = new Float32Array(tiles.reduce((a, t) => a + t.length, 0));
  let at = 0;
  for (const t of tiles) {
    pixelValues.set(t, at);
    at += t.length;
  }
  return pixelValues;
}
