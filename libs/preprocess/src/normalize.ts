/**
 * `ToTensor` + `Normalize(IMAGENET_MEAN, IMAGENET_STD)` in torchvision's float32 arithmetic: u8 / 255, then − mean,
 * then / std, each step rounded to float32. With 256 inputs per channel the whole transform is a lookup table.
 */
import { RgbImage } from './rgb-image';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

function buildLut(): Float32Array[] {
  const f = Math.fround;
  return [0, 1, 2].map((c) => {
    const mean = f(IMAGENET_MEAN[c]);
    const std = f(IMAGENET_STD[c]);
    // Each double operation on float32 operands, rounded once to float32, is the correctly rounded float32 result.
    return Float32Array.from({ length: 256 }, (_, u) => f(f(f(u / 255) - mean) / std));
  });
}

export const NORMALIZE_LUT: readonly Float32Array[] = buildLut();

/** Packs tiles of equal size into one [T, 3, H, W] CHW float32 tensor. */
export function normalizeTiles(tiles: readonly RgbImage[], out?: Float32Array, outOffset = 0): Float32Array {
  if (tiles.length === 0) return out ?? new Float32Array(0);
  const { width, height } = tiles[0];
  const plane = width * height;
  const dst = out ?? new Float32Array(tiles.length * 3 * plane);
  const [lr, lg, lb] = NORMALIZE_LUT;
  let base = outOffset;
  for (const tile of tiles) {
    if (tile.width !== width || tile.height !== height) {
      throw new Error(`normalizeTiles: tile ${tile.width}×${tile.height} differs from ${width}×${height}`);
    }
    const src = tile.data;
    for (let p = 0, s = 0; p < plane; p++, s += 3) {
      dst[base + p] = lr[src[s]];
      dst[base + plane + p] = lg[src[s + 1]];
      dst[base + 2 * plane + p] = lb[src[s + 2]];
    }
    base += 3 * plane;
  }
  return dst;
}
