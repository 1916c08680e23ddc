import { describe, expect, it } from 'vitest';
import { roundHalfEven } from './python-round';

describe('roundHalfEven (Python round / np.round)', () => {
  it('sends exact halves to the even neighbour, in both signs', () => {
    expect([0.5, 1.5, 2.5, 3.5, 12.5, -0.5, -1.5, -2.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 12, 0, -2, -2]);
  });

  it('rounds everything else to nearest and keeps integers', () => {
    expect([0.49999999999999994, 2.5000000000000004, -2.6, 7, -7, 6.25].map(roundHalfEven)).toEqual([
      0, 3, -3, 7, -7, 6,
    ]);
  });
});
