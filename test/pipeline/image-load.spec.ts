import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { StageClient } from '@ivl/pipeline';
import { GenerateClient } from '@ivl/queue';
import { tinyCheckpoint } from '@ivl/test-support';
import { TestCluster, startTestCluster } from '../support/cluster';

/** A noisy 4000×4000 JPEG (about 7 MB; noise keeps decoding as costly as a photo's). */
async function largeImage(seed: number): Promise<Uint8Array> {
  const noise = { type: 'gaussian' as const, mean: 100 + 20 * seed, sigma: 40 };
  const bytes = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: { r: 0, g: 0, b: 0 }, noise } }).jpeg({ quality: 90 }).toBuffer();
  return new Uint8Array(bytes);
}

/**
 * Large images on stage 0 while its ring monitor runs: decoding and tiling happen on its media threads, so the
 * event loop keeps answering Health and the monitor keeps seeing stage 1. Every job completes on its first run
 * (no ring break, no failed sequence), and stage 0 answers Health promptly all the while.
 */
describe('large images through a 2-stage ring', () => {
  let cluster: TestCluster;
  let client: GenerateClient;
  let images: Uint8Array[];
  beforeAll(async () => {
    [cluster, images] = await Promise.all([startTestCluster({ model: tinyCheckpoint('tiny'), stages: 2 }), Promise.all([1, 2, 3, 4].map(largeImage))]);
    client = new GenerateClient(cluster.redisUrl, { prefix: cluster.queuePrefix });
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('completes every job on its first run while stage 0 keeps answering Health', async () => {
    const stage0 = new StageClient(`127.0.0.1:${cluster.stagePorts[0]}`);
    let slowestHealthMs = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = Date.now();
        await stage0.health(5000);
        slowestHealthMs = Math.max(slowestHealthMs, Date.now() - t);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const results = await Promise.all(
        images.map((data, i) =>
          client
            .submit({ input: { question: `Image ${i}: what is in it?`, images: [{ data }] }, sampling: { maxNewTokens: 4, temperature: 0 } })
            .then((id) => client.result(id, 60_000)),
        ),
      );
      for (const r of results) {
        expect(r.numPatches).toEqual([10]);
        expect(r.attempt).toBe(0);
        expect(r.completionTokens).toBeGreaterThan(0);
      }
    } finally {
      probing = false;
      await probe;
      stage0.close();
    }
    expect(cluster.logs.filter((l) => /ring broken|failing in-flight/.test(l))).toEqual([]);
    console.log(`slowest stage-0 Health during the load: ${slowestHealthMs} ms`);
    expect(slowestHealthMs).toBeLessThan(250);
  });
});
