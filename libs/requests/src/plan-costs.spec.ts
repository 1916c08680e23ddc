import { describe, expect, it } from 'vitest';
import { PRESETS, expectedTensors, parseModelConfig, publishedConfig } from '@ivl/checkpoint';
import { parsePlan } from '@ivl/plan';
import { planCosts } from './plan-costs';

const config = (p: string) => parseModelConfig(publishedConfig(PRESETS[p], 'bfloat16'));
const count = (p: string, test: (name: string) => boolean) =>
  expectedTensors(config(p))
    .filter((t) => test(t.name))
    .reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);

describe('plan costs for every size', () => {
  it.each(['1b', '2b', '4b', '8b', '26b', '38b', '78b'])('%s: vision and layer costs are the parameters of the parts in use', (p) => {
    const c = planCosts(config(p));
    const vision = count(p, (n) => n.startsWith('vision_model.') || n.startsWith('mlp1.'));
    const layer0 = count(p, (n) => /\.layers\.0\./.test(n) && n.startsWith('language_model.'));
    const head = count(p, (n) => n === 'language_model.lm_head.weight' || n === 'language_model.output.weight' || n === 'language_model.model.norm.weight');
    // Norm vectors and the patch/position embeddings are left out of the estimate: well under 1%.
    expect(Math.abs(c.perLayer - layer0) / layer0).toBeLessThan(0.01);
    expect(Math.abs(c.stageZeroExtra - vision - head) / (vision + head)).toBeLessThan(0.01);
  });

  it('balanced plans give stage 0 fewer layers when InternViT-6B sits on it', () => {
    const first = (p: string, g: number) => {
      const cfg = config(p);
      const plan = parsePlan(`balanced:${g}`, cfg.llm.numLayers, planCosts(cfg));
      return plan.stages[0].ranges.reduce((a, [x, y]) => a + y - x, 0);
    };
    // 78B on 8 stages: InternViT-6B (5.9B parameters) plus the head weigh about 8 layers of 0.88B.
    expect(first('78b', 8)).toBeLessThan(80 / 8 - 5);
    expect(first('26b', 4)).toBeLessThan(48 / 4 - 3);
    const cfg = config('78b');
    const costs = planCosts(cfg);
    const plan = parsePlan('balanced:8', 80, costs);
    const loads = plan.stages.map((s, i) => s.ranges.reduce((a, [x, y]) => a + y - x, 0) * costs.perLayer + (i === 0 ? costs.stageZeroExtra : 0));
    expect((Math.max(...loads) - Math.min(...loads)) / Math.max(...loads)).toBeLessThan(0.12);
  });
});
