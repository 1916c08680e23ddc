import { createHash } from 'node:crypto';
import type { ActArray } from './activations';

/**
 * Image embeddings per tile, keyed by a SHA-256 of the tile's preprocessed pixels (so by the image's content and
 * every tiling setting that shaped it), least recently used evicted first within a byte budget. A multi-turn
 * image chat sends the same image every turn: its tiles' vision pass (seconds each on a CPU) runs once.
 */
export class TileEmbeddingCache {
  private readonly entries = new Map<string, ActArray>();
  private size = 0;
  hits = 0;
  misses = 0;

  constructor(readonly budgetBytes: number) {}

  static key(pixels: Float32Array): string {
    return createHash('sha256').update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength)).digest('hex');
  }

  /**
   * The key of every tile of [numTiles, 3, 448, 448] pixels. Computed once per request: the same keys salt the
   * prefix cache's image runs and look up the vision rows.
   */
  static tileKeys(pixels: Float32Array, numTiles: number): string[] {
    const per = numTiles > 0 ? pixels.length / numTiles : 0;
    return Array.from({ length: numTiles }, (_, t) => TileEmbeddingCache.key(pixels.subarray(t * per, (t + 1) * per)));
  }

  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.size;
  }

  get(key: string): ActArray | undefined {
    const v = this.entries.get(key);
    if (!v) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-insert: Map order is the recency order.
    this.entries.delete(key);
    this.entries.set(key, v);
    return v;
  }

  set(key: string, rows: ActArray): void {
    if (rows.byteLength > this.budgetBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.size -= old.byteLength;
      this.entries.delete(key);
    }
    this.entries.set(key, rows);
    this.size += rows.byteLength;
    for (const [k, v] of this.entries) {
      if (this.size <= this.budgetBytes) break;
      this.entries.delete(k);
      this.size -= v.byteLength;
    }
  }
}
