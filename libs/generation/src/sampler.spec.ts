import { describe, expect, it } from 'vitest';
import { Sampler } from './sampler';
import { GREEDY, SamplingParams } from './sampling-params';

const base: SamplingParams = { ...GREEDY, temperature: 1 };
const logits = (xs: number[]) => Float32Array.from(xs);

function histogram(p: SamplingParams, l: Float32Array, n: number, seed = 1): number[] {
  const s = new Sampler(p, seed);
  const h = new Array(l.length).fill(0);
  for (let i = 0; i < n; i++) h[s.sample(l, [])]++;
  return h.map((c) => c / n);
}

describe('Sampler (Hugging Face processing order)', () => {
  it('greedy takes the argmax; temperature 0 ignores the seed', () => {
    expect(new Sampler(GREEDY, 1).sample(logits([0.1, 3, 2]), [])).toBe(1);
    expect(new Sampler(GREEDY, 99).sample(logits([0.1, 3, 2]), [])).toBe(1);
  });

  it('draws from softmax(logits / T): empirical frequencies match within 1%', () => {
    const l = logits([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
    const h = histogram({ ...base, temperature: 1 }, l, 40000);
    [0.5, 0.3, 0.2].forEach((p, i) => expect(Math.abs(h[i] - p)).toBeLessThan(0.01));
    // T = 2 flattens: p ∝ sqrt(p)
    const h2 = histogram({ ...base, temperature: 2 }, l, 40000);
    const z = Math.sqrt(0.5) + Math.sqrt(0.3) + Math.sqrt(0.2);
    [0.5, 0.3, 0.2].forEach((p, i) => expect(Math.abs(h2[i] - Math.sqrt(p) / z)).toBeLessThan(0.01));
  });

  it('top-k and top-p keep only the head of the distribution, renormalised', () => {
    const l = logits([Math.log(0.4), Math.log(0.3), Math.log(0.2), Math.log(0.1)]);
    const k2 = histogram({ ...base, topK: 2 }, l, 30000);
    expect(k2[2] + k2[3]).toBe(0);
    expect(Math.abs(k2[0] - 4 / 7)).toBeLessThan(0.015);
    // top_p 0.65: 0.4 + 0.3 reaches it, so the two most likely survive
    const p = histogram({ ...base, topP: 0.65 }, l, 30000);
    expect(p[2] + p[3]).toBe(0);
    // top_p just above 0.9 keeps all four
    expect(histogram({ ...base, topP: 0.95 }, l, 20000)[3]).toBeGreaterThan(0.05);
  });

  it('top-p over a full 151,674-token vocabulary agrees with a full sort', () => {
    const V = 151674;
    const l = new Float32Array(V);
    for (let i = 0; i < V; i++) l[i] = Math.sin(i * 12.9898) * 3;
    const s = new Sampler({ ...base, topP: 0.9, temperature: 0.7 }, 3);
    const picks = new Set<number>();
    for (let i = 0; i < 200; i++) picks.add(s.sample(l, []));
    // (the slow reference below sorts the whole vocabulary once)
    // every pick lies inside the nucleus computed the slow way
    const w = Array.from(l, (x, i) => [Math.exp(x / 0.7), i]).sort((a, b) => b[0] - a[0]);
    const z = w.reduce((a, [v]) => a + v, 0);
    const nucleus = new Set<number>();
    let acc = 0;
    for (const [v, i] of w) {
      nucleus.add(i);
      acc += v / z;
      if (acc >= 0.9) break;
    }
    for (const p of picks) expect(nucleus.has(p)).toBe(true);
  });

  it('repetition penalty divides positive and multiplies negative scores of seen tokens', () => {
    const s = new Sampler({ ...GREEDY, repetitionPenalty: 2 }, 1);
    expect(s.sample(logits([1.9, 1, -5]), [])).toBe(0);
    expect(s.sample(logits([1.9, 1, -5]), [0])).toBe(1); // 1.9 / 2 < 1
    expect(s.sample(logits([-1, -1.5, -5]), [0])).toBe(1); // -1 * 2 < -1.5
  });

  it('same seed, same tokens; a replay fast-forwards exactly', () => {
    const l = logits(Array.from({ length: 50 }, (_, i) => Math.cos(i)));
    const run = (seed: number) => {
      const s = new Sampler(base, seed);
      return Array.from({ length: 20 }, () => s.sample(l, []));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    const full = run(7);
    const resumed = new Sampler(base, 7);
    resumed.skip(12);
    expect(Array.from({ length: 8 }, () => resumed.sample(l, []))).toEqual(full.slice(12));
  });
});
