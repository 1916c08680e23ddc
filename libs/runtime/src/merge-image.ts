import { ActArray } from './activations';

/**
 * Overwrites, in order, every row whose token is the image-context token with the next image-embedding row
 * (reference §4.5). The count must match exactly: a mismatch means the prompt and the pixels disagree.
 */
export function mergeImageEmbeddings(embeds: ActArray, ids: ArrayLike<number>, image: ActArray, imageTokenId: number, hidden: number): void {
  const rows = image.length / hidden;
  let next = 0;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== imageTokenId) continue;
    if (next >= rows) throw new RangeError(`the prompt has more image-context tokens than the ${rows} image embedding rows`);
    embeds.set(image.subarray(next * hidden, (next + 1) * hidden) as never, i * hidden);
    next++;
  }
  if (next !== rows) throw new RangeError(`the prompt has ${next} image-context tokens but the images produced ${rows} rows`);
}
