/**
 * Python's `round(x)` for floats: to the nearest integer, ties to even. Math.round sends ties up, which moves
 * grounding boxes and video frame indices by one (section 12, pitfall 9). Exact: x − floor(x) has no rounding
 * error for doubles, so only true halves count as ties.
 */
export function pythonRound(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`cannot round ${x} to an integer`);
  const floor = Math.floor(x);
  const frac = x - floor;
  let r: number;
  if (frac < 0.5) r = floor;
  else if (frac > 0.5) r = floor + 1;
  else r = floor % 2 === 0 ? floor : floor + 1;
  // Python's int has no negative zero.
  return r === 0 ? 0 : r;
}
