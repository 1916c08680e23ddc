import { afterAll, describe, expect, it } from 'vitest';
import { ensureBundle } from '@ivl/compiler';
import { Rng } from '@ivl/tensor';
import { freshCacheDir, tinyCheckpoint } from '@ivl/test-support';
import { StageModelClient } from './stage-model-client';

describe('the vision encoder in parts, between the ring steps on the stage thread', () => {
  let client: StageModelClient | undefined;
  afterAll(async () => client?.close());

  it('sends one part per step, never between a step\'s front and back, and the parts give the whole encoder\'s rows', async () => {
    const { dir, manifest } = ensureBundle(tinyCheckpoint('tiny'), { dtype: 'fp32', cacheDir: freshCacheDir('vision-steps') });
    const cfg = { bundleDir: dir, ranges: [[0, manifest.config.llm.numLayers]] as [number, number][], head: true, imageTokenId: 151667, session: { threads: 1 }, kvBudgetBytes: 2 ** 24 };
    const whole = await StageModelClient.start(cfg);
    const S = manifest.config.vision.imageSize;
    const img = new Rng(9).fillNormal(new Float32Array(2 * 3 * S * S));
    const ref = await whole.client.vision(img.slice(), 2);
    await whole.client.close();

    const started = await StageModelClient.start({ ...cfg, visionParts: 2 });
    client = started.client;
    expect(started.info.visionParts).toBe(2);
    // The order in which the thread answered (it answers in the order it ran the calls).
    const answered: string[] = [];
    const raw = client as unknown as { call: (method: string, args: unknown[]) => Promise<unknown> };
    const call = raw.call.bind(client);
    raw.call = (method, args) => call(method, args).then((v) => (answered.push(method), v));

    const H = started.info.hidden;
    const prompt = Array.from({ length: 12 }, (_, i) => 100 + i);
    const h0 = await client.front({ ids: prompt, spans: [{ seq: 'a', start: 0, length: prompt.length }] });
    await client.back(h0, [{ seq: 'a', start: 0, length: prompt.length }], [prompt.length - 1]);
    const steps = (async () => {
      for (let s = 0; s < 12; s++) {
        const span = [{ seq: 'a', start: prompt.length + s, length: 1 }];
        const h = await client!.front({ ids: [7 + s], spans: span });
        expect(h.length).toBe(H);
        await client!.back(h, span, [0]);
      }
    })();
    const rows = await client.vision(img.slice(), 2);
    await steps;
    expect(Array.from(rows)).toEqual(Array.from(ref));

    const log = answered.filter((m) => m !== 'runVision');
    const parts = log.flatMap((m, i) => (m === 'runVisionPart' ? [i] : []));
    expect(parts.length).toBe(4); // 2 tiles × 2 parts
    // Every part follows a step's back (the steps were running throughout), so each token waited for one part.
    for (const i of parts) expect(log[i - 1], `part answered at ${i} after ${log.slice(0, i).join(',')}`).toBe('back');
    for (const [k, i] of parts.slice(1).entries()) expect(i - parts[k], 'a whole step between two parts').toBeGreaterThanOrEqual(3);
  });
});
