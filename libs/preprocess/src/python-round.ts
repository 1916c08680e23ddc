/**
 * Python's `round(x)` and `np.round(x)` for floats: nearest integer, exact halves to the even neighbour.
 * `Math.round` sends halves up, which moves frame indices (doc section 7, pitfall 9).
 */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  // Exact for every double: x and floor(x) are within 1 of each other.
  const d = x - f;
  // `+ 0` turns −0 into 0: Python integers have no negative zero.
  if (d < 0.5) return f + 0;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f + 0 : f + 1;
}
