/** Inter-token gaps of running streams around one event (a long prompt's prefill), and their summary. */

export type GapPhase = 'before' | 'during' | 'after';

export interface Gap {
  ms: number;
  phase: GapPhase;
}

export interface GapSummary {
  count: number;
  /** Median over every gap (before, during and after): the "median". */
  medianMs: number;
  /** Median of the gaps before the event: the streams' undisturbed pace. */
  medianBeforeMs: number;
  medianDuringMs: number;
  p95Ms: number;
  maxMs: number;
  maxPhase: GapPhase;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : NaN;
};

/** The q-quantile (nearest rank). */
export const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] ?? NaN;

/**
 * The gaps between consecutive token timestamps of each stream, from `fromIndex[i]` on (the tokens before it are
 * the stream's own start). A gap is 'during' when it overlaps the window [start, end] of the event, 'before' or
 * 'after' when it lies wholly on one side.
 */
export function gapsAround(streams: number[][], fromIndex: number[], start: number, end: number): Gap[] {
  const out: Gap[] = [];
  streams.forEach((t, i) => {
    for (let k = Math.max(1, fromIndex[i] + 1); k < t.length; k++) {
      const phase: GapPhase = t[k] <= start ? 'before' : t[k - 1] >= end ? 'after' : 'during';
      out.push({ ms: t[k] - t[k - 1], phase });
    }
  });
  return out;
}

export function summarizeGaps(gaps: Gap[]): GapSummary {
  const of = (p: GapPhase) => gaps.filter((g) => g.phase === p).map((g) => g.ms);
  const largest = gaps.reduce((a, g) => (g.ms > a.ms ? g : a), gaps[0] ?? { ms: NaN, phase: 'during' as GapPhase });
  return {
    count: gaps.length,
    medianMs: median(gaps.map((g) => g.ms)),
    medianBeforeMs: median(of('before')),
    medianDuringMs: median(of('during')),
    p95Ms: quantile(gaps.map((g) => g.ms), 0.95),
    maxMs: largest.ms,
    maxPhase: largest.phase,
  };
}
