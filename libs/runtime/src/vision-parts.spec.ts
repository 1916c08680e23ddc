import { describe, expect, it } from 'vitest';
import { Checkpoint } from '@ivl/checkpoint';
import { ensureBundle } from '@ivl/compiler';
import { Rng } from '@ivl/tensor';
import { freshCacheDir, maxAbsDiff, tinyCheckpoint } from '@ivl/test-support';
import { VisionRunner } from './head-runners';

const cache = freshCacheDir('vision-parts');

// tiny: InternViT-300M style (LayerNorm, qkv bias); tiny-26b: InternViT-6B style (RMSNorm, q/k norms).
describe.each(['tiny', 'tiny-26b'])('the vision encoder split into parts (%s)', (preset) => {
  it('runs as one call per part and gives the whole encoder\'s embeddings bit for bit', async () => {
    const dir = tinyCheckpoint(preset);
    const layers = Checkpoint.open(dir).config.vision.numLayers;
    expect(layers).toBeGreaterThanOrEqual(2);
    const { dir: b, manifest } = ensureBundle(dir, { dtype: 'fp32', cacheDir: cache });
    const whole = await VisionRunner.create(b, manifest, { threads: 1 });
    const split = await VisionRunner.create(b, manifest, { threads: 1, parts: layers });
    expect([whole.partCount, split.partCount]).toEqual([1, layers]);
    const S = manifest.config.vision.imageSize;
    const px = new Rng(5).fillNormal(new Float32Array(2 * 3 * S * S));
    const ref = await whole.run(px.slice(), 2);
    // run() goes through every part; runPart one at a time, as the stage thread's caller does.
    expect(maxAbsDiff(await split.run(px.slice(), 2), ref)).toBe(0);
    let x = await split.runPart(0, px.slice(), 2);
    expect(x.length).toBe(2 * (manifest.config.gridSize ** 2 + 1) * manifest.config.vision.hiddenSize);
    for (let p = 1; p < layers; p++) x = await split.runPart(p, x, 2);
    expect(maxAbsDiff(x, ref)).toBe(0);
    await expect(split.runPart(1, new Float32Array(7), 2)).rejects.toThrow(/expected/);
    await expect(split.runPart(layers, x, 2)).rejects.toThrow(RangeError);
    await Promise.all([whole.close(), split.close()]);
  });
});
