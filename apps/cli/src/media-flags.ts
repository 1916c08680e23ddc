import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { RequestInput } from '@ivl/requests';
import { collectFlag } from './sampling-flags';

/** --image/--video flags and the prompt shape they produce (shared by forward and chat). */
export function addMediaFlags(cmd: Command): Command {
  return cmd
    .option('--image <file>', 'an image (repeatable; each takes the next <image> placeholder)', collectFlag, [])
    .option('--max-num <n>', 'max_dynamic_patch: most tiles per image (default from config.json, 12)', Number)
    .option('--combine-images', "one <image> for the tiles of all images (the card's combined form)")
    .option('--video <file>', 'a video, sampled into frames')
    .option('--segments <n>', 'frames to sample from the video', Number, 8)
    .option('--bound <start,end>', 'video segment in seconds, e.g. 1.0,5.0');
}

export function mediaInput(o: Record<string, unknown>): Pick<RequestInput, 'images' | 'video' | 'combineImages' | 'maxNum'> {
  const read = (f: string) => {
    try {
      return new Uint8Array(readFileSync(f));
    } catch (e) {
      throw Object.assign(new Error(`cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`), { name: 'RangeError' });
    }
  };
  const bound = o.bound ? ((o.bound as string).split(',').map(Number) as [number, number]) : undefined;
  return {
    images: (o.image as string[]).map((f) => ({ data: read(f) })),
    video: o.video ? { data: read(o.video as string), numSegments: o.segments as number, bound } : undefined,
    combineImages: Boolean(o.combineImages),
    maxNum: o.maxNum as number | undefined,
  };
}
