import { describe, expect, it } from 'vitest';
import { Checkpoint } from '@ivl/checkpoint';
import { cardPlan } from '@ivl/plan';
import { freshCacheDir, tinyCheckpoint } from '@ivl/test-support';
import { ensureBundle } from './bundle-cache';
import { WeightFormat } from './manifest';
import { estimateStageSize } from './sizing';

describe('stage size estimates', () => {
  it.each<[string, WeightFormat]>([
    ['tiny-26b', 'int4'],
    ['tiny-26b', 'fp16'],
    ['tiny-78b', 'int8'],
    ['tiny-1b', 'fp32'],
  ])('%s %s: the estimate is the bytes the converter writes, stage by stage (within alignment)', (preset, dtype) => {
    const dir = tinyCheckpoint(preset);
    const c = Checkpoint.open(dir).config;
    const cache = freshCacheDir('sizing');
    for (const s of cardPlan(2, c.llm.numLayers).stages) {
      const parts = { vision: s.vision, embed: s.embed, head: s.head, layers: s.ranges };
      const b = ensureBundle(dir, { dtype, cacheDir: cache, parts });
      // Exact up to the alignment padding after the last tensor of each weight file (under 64 bytes each).
      const files = new Set(Object.values(b.manifest.tensors).map((t) => t.file)).size;
      const diff = estimateStageSize(c, dtype, parts).weightBytes - b.manifest.stats.bytesWritten;
      expect(diff, `stage ${s.stage}`).toBeGreaterThanOrEqual(0);
      expect(diff, `stage ${s.stage}`).toBeLessThan(64 * files);
    }
  });
});
