/** Pixel side of the card's `dynamic_preprocess`: one resize to the grid, row-major crops, then the thumbnail. */
import { resizeBicubicMany } from './resize-bicubic';
import { RgbImage, cropRgb } from './rgb-image';
import { TILE_SIZE, TileOptions, TilePlan, planTiles } from './tile-plan';

export interface GridImage extends TilePlan {
  /** The image resized to (448·cols, 448·rows). */
  grid: RgbImage;
  /** The whole image resized to 448×448 from the original (not from the grid), or null for a single tile. */
  thumbnail: RgbImage | null;
}

export interface TiledImage extends TilePlan {
  /** 448×448 tiles: grid tiles row-major (tile k is column k % cols, row ⌊k / cols⌋), thumbnail last. */
  tiles: RgbImage[];
}

/** Both resizes of `dynamic_preprocess`, before cropping. */
export function resizeForTiles(img: RgbImage, opts?: TileOptions): GridImage {
  const plan = planTiles(img.width, img.height, opts);
  const targets: [number, number][] = [[TILE_SIZE * plan.cols, TILE_SIZE * plan.rows]];
  const withThumb = plan.numTiles > plan.cols * plan.rows;
  if (withThumb) targets.push([TILE_SIZE, TILE_SIZE]);
  const [grid, thumbnail] = resizeBicubicMany(img, targets);
  return { ...plan, grid, thumbnail: withThumb ? thumbnail : null };
}

export function dynamicPreprocess(img: RgbImage, opts?: TileOptions): TiledImage {
  const { grid, thumbnail, ...plan } = resizeForTiles(img, opts);
  const tiles: RgbImage[] = [];
  for (let k = 0; k < plan.cols * plan.rows; k++) {
    const x0 = (k % plan.cols) * TILE_SIZE;
    const y0 = Math.floor(k / plan.cols) * TILE_SIZE;
    tiles.push(cropRgb(grid, x0, y0, TILE_SIZE, TILE_SIZE));
  }
  if (thumbnail) tiles.push(thumbnail);
  return { ...plan, tiles };
}
