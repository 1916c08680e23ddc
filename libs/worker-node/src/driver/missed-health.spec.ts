import { describe, expect, it } from 'vitest';
import { MissedHealthJudge } from './missed-health';

describe('MissedHealthJudge', () => {
  const rule = { toleranceMs: 250, maxDoubtMs: 10_000 };

  it('believes a miss while our own loop kept up', () => {
    const j = new MissedHealthJudge(rule);
    expect(j.isDown(0, 0)).toBe(true);
    expect(j.isDown(250, 1000)).toBe(true);
  });

  it('doubts a miss while our own loop was stalled, until the doubt has lasted maxDoubtMs', () => {
    const j = new MissedHealthJudge(rule);
    expect(j.isDown(1800, 0)).toBe(false);
    expect(j.isDown(900, 4000)).toBe(false);
    expect(j.isDown(3000, 9999)).toBe(false);
    expect(j.isDown(3000, 10_000)).toBe(true);
    // Believed once, the next stalled poll starts a new doubt.
    expect(j.isDown(3000, 10_500)).toBe(false);
  });

  it('starts the doubt over after every stage answered or a miss under a calm loop', () => {
    const j = new MissedHealthJudge(rule);
    expect(j.isDown(2000, 0)).toBe(false);
    j.answered();
    expect(j.isDown(2000, 9000)).toBe(false);
    expect(j.isDown(2000, 18_000)).toBe(false);
    expect(j.isDown(2000, 19_000)).toBe(true);
    expect(j.isDown(2000, 20_000)).toBe(false);
    expect(j.isDown(10, 21_000)).toBe(true);
    expect(j.isDown(2000, 29_000)).toBe(false);
  });
});
