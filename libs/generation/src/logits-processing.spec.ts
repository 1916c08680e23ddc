import { describe, expect, it } from 'vitest';
import { Rng } from '@ivl/tensor';
import { processLogits, tokenLogprob } from './logits-processing';
import { Sampler } from './sampler';
import { DEFAULT_SAMPLING, GREEDY, SamplingError, validateSampling } from './sampling-params';

const logits = () => Float32Array.from([2, 1, 0.5, -1, 3]);

describe('processLogits', () => {
  it('applies OpenAI presence and frequency penalties to generated tokens only', () => {
    const out = processLogits(logits(), { ...GREEDY, presencePenalty: 0.5, frequencyPenalty: 0.25 }, [0], [4, 4, 1]);
    // token 4: twice generated → 3 − 2·0.25 − 0.5; token 1 once → 1 − 0.25 − 0.5; token 0 is only in the prompt.
    expect(Array.from(out)).toEqual([2, 0.25, 0.5, -1, 2]);
  });

  it('adds logit_bias before the penalties and leaves the input untouched', () => {
    const input = logits();
    const out = processLogits(input, { ...GREEDY, logitBias: { 3: 10 }, repetitionPenalty: 2 }, [], [3]);
    expect(out[3]).toBe(4.5); // (−1 + 10) / 2
    expect(input[3]).toBe(-1);
  });

  it('returns the logits themselves when nothing applies', () => {
    const l = logits();
    expect(processLogits(l, DEFAULT_SAMPLING, [1, 2], [3])).toBe(l);
  });
});

describe('tokenLogprob', () => {
  it('is log_softmax: the chosen entry, the top-k in order, exponentials summing to at most 1', () => {
    const s = logits();
    const lp = tokenLogprob(s, 4, 3);
    const z = Array.from(s).reduce((a, x) => a + Math.exp(x), 0);
    expect(lp.logprob).toBeCloseTo(3 - Math.log(z), 6);
    expect(lp.top.map(([id]) => id)).toEqual([4, 0, 1]);
    expect(lp.top.reduce((a, [, l]) => a + Math.exp(l), 0)).toBeLessThanOrEqual(1);
  });

  it('never lists masked tokens and breaks ties toward the lower id', () => {
    const s = Float32Array.from([1, -Infinity, 1, 1, -Infinity]);
    expect(tokenLogprob(s, 2, 5).top.map(([id]) => id)).toEqual([0, 2, 3]);
  });

  it('under greedy decoding the top entry is the sampled token', () => {
    const rng = new Rng(7);
    const s = Float32Array.from({ length: 1000 }, () => rng.next() * 10);
    const token = new Sampler(GREEDY, 1).draw(s);
    expect(tokenLogprob(s, token, 5).top[0][0]).toBe(token);
  });
});

describe('min_p', () => {
  it('drops every token below min_p times the top probability', () => {
    // probabilities ∝ e^s: e^−1/e^3 ≈ 0.018 < 0.05, the rest are above.
    const seen = new Set<number>();
    const sampler = new Sampler({ ...DEFAULT_SAMPLING, minP: 0.05 }, 3);
    for (let i = 0; i < 3000; i++) seen.add(sampler.draw(logits()));
    expect([...seen].sort()).toEqual([0, 1, 2, 4]);
  });
});

describe('validateSampling', () => {
  it('names the parameter of a bad value', () => {
    expect(() => validateSampling({ ...GREEDY, logitBias: { 999999: 1 } }, undefined, 151674)).toThrow(/logit_bias has an unknown token id 999999/);
    expect(() => validateSampling({ ...GREEDY, logprobs: 21 })).toThrow(SamplingError);
    expect(() => validateSampling({ ...GREEDY, presencePenalty: 3 })).toThrow(/presence_penalty/);
    expect(() => validateSampling({ ...GREEDY, minP: 1.5 })).toThrow(/min_p/);
  });
});
