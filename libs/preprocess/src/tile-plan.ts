/**
 * Grid choice of the model card's `dynamic_preprocess` (reference doc 6.2), without touching pixels: the gateway
 * counts image tokens with it before queueing a request.
 */
import { PreprocessError } from './errors';

export const TILE_SIZE = 448;
export const DEFAULT_MAX_TILES = 12;
/** A guard, not a model limit: 64 tiles already mean a 154 MB float tensor for one image. */
export const MAX_TILES_LIMIT = 64;

export interface TileOptions {
  /** Upper bound on grid tiles (cols·rows), excluding the thumbnail. Default 12 (model card); evals use 6. */
  maxNum?: number;
  /** Lower bound on grid tiles. Default 1. */
  minNum?: number;
  /** Append a whole-image thumbnail when the grid has more than one tile. Default true. */
  useThumbnail?: boolean;
}

export interface TilePlan {
  cols: number;
  rows: number;
  /** Grid tiles plus the thumbnail, if any: the number of 448×448 tiles fed to the vision encoder. */
  numTiles: number;
}

export type Grid = readonly [cols: number, rows: number];

/** CPython's iteration order of the card's candidate set after `sorted(key=i*j)`, as listed in doc 6.2. */
const CPYTHON_ORDER: Record<number, readonly Grid[]> = {
  12: [
    [1, 1], [1, 2], [2, 1], [3, 1], [1, 3], [2, 2], [4, 1], [1, 4], [5, 1], [1, 5], [1, 6], [6, 1], [3, 2], [2, 3],
    [7, 1], [1, 7], [4, 2], [2, 4], [1, 8], [8, 1], [1, 9], [3, 3], [9, 1], [2, 5], [5, 2], [10, 1], [1, 10], [11, 1],
    [1, 11], [12, 1], [3, 4], [4, 3], [1, 12], [6, 2], [2, 6],
  ],
  6: [[1, 1], [1, 2], [2, 1], [3, 1], [1, 3], [4, 1], [1, 4], [2, 2], [1, 5], [5, 1], [6, 1], [2, 3], [1, 6], [3, 2]],
};

/**
 * Candidates (cols, rows) with minNum ≤ cols·rows ≤ maxNum, ordered by tile count. Only the order between different
 * counts affects the choice (doc 6.2, and checked against Python for max_num 1–40 in the spec), so limits without a
 * recorded CPython order use generation order inside one count.
 */
export function candidateGrids(minNum: number, maxNum: number): Grid[] {
  const known = minNum === 1 ? CPYTHON_ORDER[maxNum] : undefined;
  if (known) return known.slice();
  const grids: Grid[] = [];
  for (let i = 1; i <= maxNum; i++) {
    for (let j = 1; i * j <= maxNum; j++) if (i * j >= minNum) grids.push([i, j]);
  }
  // Array.prototype.sort is stable, like Python's sorted.
  return grids.sort((a, b) => a[0] * a[1] - b[0] * b[1]);
}

/**
 * `find_closest_aspect_ratio`: the first strictly closer ratio wins; on an exactly equal difference a later (larger)
 * grid wins only if the image has more than half its pixel count. Doubles here match Python floats.
 */
export function closestGrid(width: number, height: number, candidates: readonly Grid[]): Grid {
  const aspect = width / height;
  const area = width * height;
  let bestDiff = Infinity;
  let best: Grid = [1, 1];
  for (const grid of candidates) {
    const diff = Math.abs(aspect - grid[0] / grid[1]);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = grid;
    } else if (diff === bestDiff && area > 0.5 * TILE_SIZE * TILE_SIZE * grid[0] * grid[1]) {
      best = grid;
    }
  }
  return best;
}

export function resolveTileOptions(opts: TileOptions = {}): Required<TileOptions> {
  const maxNum = opts.maxNum ?? DEFAULT_MAX_TILES;
  const minNum = opts.minNum ?? 1;
  if (!Number.isInteger(maxNum) || maxNum < 1 || maxNum > MAX_TILES_LIMIT) {
    throw new PreprocessError('invalid_argument', `maxNum must be an integer in 1..${MAX_TILES_LIMIT}, got ${maxNum}`);
  }
  if (!Number.isInteger(minNum) || minNum < 1 || minNum > maxNum) {
    throw new PreprocessError('invalid_argument', `minNum must be an integer in 1..maxNum (${maxNum}), got ${minNum}`);
  }
  return { maxNum, minNum, useThumbnail: opts.useThumbnail ?? true };
}

export function planTiles(width: number, height: number, opts?: TileOptions): TilePlan {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new PreprocessError('invalid_argument', `image size must be positive integers, got ${width}×${height}`);
  }
  const { maxNum, minNum, useThumbnail } = resolveTileOptions(opts);
  const [cols, rows] = closestGrid(width, height, candidateGrids(minNum, maxNum));
  const grid = cols * rows;
  return { cols, rows, numTiles: useThumbnail && grid !== 1 ? grid + 1 : grid };
}
