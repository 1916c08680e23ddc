import { describe, expect, it } from 'vitest';
import { parsePlan } from './parse-plan';

const costs4b = { perLayer: 77_076_992, stageZeroExtra: 304_012_288 + 12_595_200 + 2048 + 310_628_352 };

describe('parsePlan', () => {
  it('balances estimated cost with stage 0 carrying vision and the head', () => {
    const p = parsePlan('balanced:3', 36, costs4b);
    const layers = p.stages.map((s) => s.ranges.reduce((a, [x, y]) => a + y - x, 0));
    expect(layers.reduce((a, b) => a + b)).toBe(36);
    expect(layers[0]).toBeLessThan(layers[1]);
    const cost = layers.map((n, i) => n * costs4b.perLayer + (i === 0 ? costs4b.stageZeroExtra : 0));
    const spread = (Math.max(...cost) - Math.min(...cost)) / Math.max(...cost);
    expect(spread).toBeLessThan(0.08);
    expect(p.stages.slice(1).every((s) => s.ranges[0][1] > s.ranges[0][0])).toBe(true);
  });

  it('gives stage 0 no layers when its extras already exceed a share', () => {
    const p = parsePlan('balanced:3', 12, { perLayer: 40_000, stageZeroExtra: 20_000_000 });
    expect(p.stages.map((s) => s.ranges)).toEqual([[[0, 0]], [[0, 6]], [[6, 12]]]);
  });

  it('accepts explicit ranges and JSON, and names what is wrong', () => {
    expect(parsePlan('ranges:0-12+35-36,12-35', 36, costs4b).stages.map((s) => s.ranges)).toEqual([[[0, 12], [35, 36]], [[12, 35]]]);
    const json = JSON.stringify(parsePlan('card:2', 36, costs4b));
    expect(parsePlan(json, 36, costs4b).name).toBe('card:2');
    expect(() => parsePlan('ranges:0-10,12-36', 36, costs4b)).toThrow(/stage 1 starts at 12, expected 10/);
    expect(() => parsePlan('ranges:0-10,10-30', 36, costs4b)).toThrow(/covers layers \[0, 30\) but the model has 36/);
    expect(() => parsePlan('mesh:4', 36, costs4b)).toThrow(/unknown plan/);
  });
});
