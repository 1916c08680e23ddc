import { createHash } from 'node:crypto';

/** The prefix cache's block: positions are matched, and KV shared, in whole blocks of this many tokens. */
export const PREFIX_BLOCK = 16;

/**
 * A run of image-context tokens [start, end) and the content hash of the image (or video frames) whose rows fill
 * it. Two images with the same placeholder ids differ here, so their KV is never shared.
 */
export interface ImageRun {
  start: number;
  end: number;
  hash: string;
}

/**
 * The image runs of a prompt, each salted with the keys of the preprocessed tiles that fill it
 * (TileEmbeddingCache.tileKeys: a SHA-256 of the pixels the vision model sees, so of the image's content and every
 * tiling setting that shaped them). Tiles are assigned to runs in order (each tile gives the same number of
 * tokens). When the runs do not divide into whole tiles, every run is salted with the keys of all tiles (still
 * never shared with another image, only less often with itself).
 */
export function imageRuns(ids: number[], imageTokenId: number, tileKeys: readonly string[]): ImageRun[] {
  const spans: Array<{ start: number; end: number }> = [];
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== imageTokenId) continue;
    const start = i;
    while (i < ids.length && ids[i] === imageTokenId) i++;
    spans.push({ start, end: i });
  }
  if (!spans.length) return [];
  const numTiles = tileKeys.length;
  const total = spans.reduce((a, r) => a + r.end - r.start, 0);
  const perTile = numTiles > 0 && total % numTiles === 0 ? total / numTiles : 0;
  const hashTiles = (from: number, to: number) => createHash('sha256').update(`tiles ${to - from}:${tileKeys.slice(from, to).join(',')}`).digest('base64');
  if (!perTile || spans.some((r) => (r.end - r.start) % perTile !== 0)) {
    const all = hashTiles(0, numTiles);
    return spans.map((r, i) => ({ ...r, hash: `${all}#${i}` }));
  }
  let tile = 0;
  return spans.map((r) => {
    const n = (r.end - r.start) / perTile;
    const run = { ...r, hash: hashTiles(tile, tile + n) };
    tile += n;
    return run;
  });
}

/**
 * The hash chain of a token sequence's whole blocks: block k's hash covers block k-1's hash, the block's token
 * ids and the content hash of every image run that overlaps it, so equal hashes mean equal prefixes (same tokens,
 * same images) up to the end of that block.
 */
export function blockHashes(ids: ArrayLike<number>, runs: ImageRun[], blockSize = PREFIX_BLOCK): string[] {
  const out: string[] = [];
  let prev = '';
  const blocks = Math.floor(ids.length / blockSize);
  const words = new Int32Array(blockSize);
  for (let k = 0; k < blocks; k++) {
    const lo = k * blockSize;
    const hi = lo + blockSize;
    for (let i = 0; i < blockSize; i++) words[i] = ids[lo + i];
    const h = createHash('sha256').update(prev).update(new Uint8Array(words.buffer));
    for (const r of runs) if (r.start < hi && r.end > lo) h.update(`|img ${r.start}-${r.end} ${r.hash}`);
    prev = h.digest('base64');
    out.push(prev);
  }
  return out;
}
