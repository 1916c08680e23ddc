import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getFrameIndices } from './frame-indices';
import { FIXTURE_DIR } from './testing/fixtures';

describe('getFrameIndices (card get_index)', () => {
  it('reproduces the four worked examples of reference doc section 7', () => {
    expect(getFrameIndices({ numFrames: 300, fps: 30, numSegments: 8 })).toEqual([
      18, 55, 93, 130, 168, 205, 242, 280,
    ]);
    // Half-up rounding would give 19 and 69 here.
    expect(getFrameIndices({ numFrames: 101, fps: 25, numSegments: 8 })).toEqual([6, 18, 31, 44, 56, 68, 81, 94]);
    // Fewer frames than segments: repeats, and half-up would give 1 and 3 at positions 1 and 5.
    expect(getFrameIndices({ numFrames: 5, fps: 25, numSegments: 8 })).toEqual([0, 0, 1, 2, 2, 2, 3, 4]);
    expect(getFrameIndices({ numFrames: 300, fps: 30, numSegments: 8, bound: [1.0, 5.0] })).toEqual([
      37, 52, 67, 82, 97, 112, 127, 142,
    ]);
  });

  it('matches Python (round, np.round, int) on 900 generated cases', () => {
    type Case = {
      numFrames: number;
      fps: number;
      numSegments: number;
      bound: [number, number] | null;
      indices: number[];
    };
    const cases = JSON.parse(readFileSync(join(FIXTURE_DIR, 'frame-indices.json'), 'utf8')) as Case[];
    expect(cases.length).toBe(900);
    for (const c of cases) {
      const got = getFrameIndices({ ...c, bound: c.bound ?? undefined });
      expect(got, JSON.stringify(c)).toEqual(c.indices);
    }
  });

  it('rejects arguments Python would fail on or that make no sense', () => {
    expect(() => getFrameIndices({ numFrames: 0, fps: 30, numSegments: 8 })).toThrow(/numFrames/);
    expect(() => getFrameIndices({ numFrames: 10, fps: 30, numSegments: 0 })).toThrow(/numSegments/);
    expect(() => getFrameIndices({ numFrames: 10, fps: NaN, numSegments: 8 })).toThrow(/fps/);
    expect(() => getFrameIndices({ numFrames: 10, fps: 30, numSegments: 8, bound: [0, Infinity] })).toThrow(/bound/);
  });
});
