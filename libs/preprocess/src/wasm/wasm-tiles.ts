/** The whole tiling + normalisation of one decoded image in a single wasm arena, crops read in place. */
import { RgbImage } from '../rgb-image';
import { TILE_SIZE, TilePlan } from '../tile-plan';
import { withArena } from './arena';
import { kernelModule } from './kernels';
import { ArenaImage, copyIntoArena, resizeInArena } from './wasm-resize';

const TILE_FLOATS = 3 * TILE_SIZE * TILE_SIZE;

/**
 * [numTiles, 3, 448, 448] for a plan from `planTiles`, written to the start of `out` when given (a reused buffer
 * avoids the page faults of a fresh 20–30 MB allocation); null without WebAssembly SIMD.
 */
export function tileTensorWasm(img: RgbImage, plan: TilePlan, out?: Float32Array): Float32Array | null {
  const mod = kernelModule();
  if (!mod) return null;
  const { cols, rows, numTiles } = plan;
  const gridW = TILE_SIZE * cols;
  const gridH = TILE_SIZE * rows;
  const estimate = img.data.length + gridW * Math.max(gridH, img.height) * 6 + numTiles * TILE_FLOATS * 4;
  return withArena(mod, estimate, (arena) => {
    const src = copyIntoArena(arena, img);
    const grid = resizeInArena(arena, src, gridW, gridH);
    const thumb: ArenaImage | null =
      numTiles > cols * rows ? resizeInArena(arena, src, TILE_SIZE, TILE_SIZE) : null;
    const floats = numTiles * TILE_FLOATS;
    const tensor = arena.alloc(floats * 4);
    const k = arena.kernels;
    for (let t = 0; t < cols * rows; t++) {
      const x0 = (t % cols) * TILE_SIZE;
      const y0 = Math.floor(t / cols) * TILE_SIZE;
      k.tile_chw(grid.ptr + (y0 * gridW + x0) * 3, gridW * 3, tensor + t * TILE_FLOATS * 4, TILE_SIZE);
    }
    if (thumb) k.tile_chw(thumb.ptr, TILE_SIZE * 3, tensor + cols * rows * TILE_FLOATS * 4, TILE_SIZE);
    // Always a copy: the arena is reused by the next call.
    const result = out ? out.subarray(0, floats) : new Float32Array(floats);
    result.set(new Float32Array(arena.memory.buffer, tensor, floats));
    return result;
  });
}
