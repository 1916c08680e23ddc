/** The model card's `load_image`: decode, tile, normalise, as one call for the gateway. */
import { decodeImage } from './decode-image';
import { dynamicPreprocess } from './dynamic-preprocess';
import { PreprocessError } from './errors';
import { ImageLimits } from './limits';
import { normalizeTiles } from './normalize';
import { RgbImage } from './rgb-image';
import { TILE_SIZE, TileOptions, TilePlan, planTiles } from './tile-plan';
import { tileTensorWasm } from './wasm/wasm-tiles';

export interface LoadImageOptions extends TileOptions {
  limits?: ImageLimits;
  /**
   * Where to write the tensor (from index 0; `pixelValues` is then a view of it). Must hold at least
   * numTiles · 3 · 448 · 448 floats (13 tiles: 7,827,456). Reusing one buffer per worker saves the page faults
   * of a fresh allocation on every image.
   */
  out?: Float32Array;
}

export interface LoadedImage extends TilePlan {
  /** Shape [numTiles, 3, 448, 448], CHW, normalised. */
  pixelValues: Float32Array;
  /** Decoded (stored) size, before any tiling. */
  width: number;
  height: number;
}

export async function loadImage(bytes: Uint8Array, opts: LoadImageOptions = {}): Promise<LoadedImage> {
  const { limits, ...rest } = opts;
  return imageToTensor(await decodeImage(bytes, limits), rest);
}

/** Tiling and normalisation of an already decoded image (also used for video frames). */
export function imageToTensor(img: RgbImage, opts: TileOptions & { out?: Float32Array } = {}): LoadedImage {
  const { out, ...tileOpts } = opts;
  const plan = planTiles(img.width, img.height, tileOpts);
  const floats = plan.numTiles * 3 * TILE_SIZE * TILE_SIZE;
  if (out && out.length < floats) {
    const need = `${plan.numTiles} tiles need ${floats}`;
    throw new PreprocessError('invalid_argument', `out holds ${out.length} floats, ${need}`);
  }
  const pixelValues =
    tileTensorWasm(img, plan, out) ?? normalizeTiles(dynamicPreprocess(img, tileOpts).tiles, out?.subarray(0, floats));
  return { pixelValues, ...plan, width: img.width, height: img.height };
}
