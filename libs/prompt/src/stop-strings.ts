import { PromptError } from './errors';

/** Output cut before the earliest occurrence of any stop string: what a non-streamed request returns. */
export function truncateAtStop(text: string, stops: readonly string[]): { text: string; stopped: boolean } {
  const at = earliestMatch(text, stops);
  return at === -1 ? { text, stopped: false } : { text: text.slice(0, at), stopped: true };
}

function earliestMatch(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const at = text.indexOf(s);
    if (at !== -1 && (best === -1 || at < best)) best = at;
  }
  return best;
}

/** Where the held-back tail starts: the first position from which the text could still grow into a stop string. */
function firstPartialStart(text: string, stops: readonly string[], longest: number): number {
  for (let i = Math.max(0, text.length - longest + 1); i < text.length; i++) {
    const tail = text.slice(i);
    if (stops.some((s) => s.length > tail.length && s.startsWith(tail))) return i;
  }
  return -1;
}

export interface StopStep {
  /** Text that can be shown now; it never contains any part of a stop string. */
  readonly text: string;
  /** A stop string completed: generation should end and later pushes return nothing. */
  readonly stopped: boolean;
}

/**
 * Applies stop strings to streamed text so that the concatenated output equals truncateAtStop() on the whole text.
 * A tail that might be the start of a stop string is held back; a completed match is released only when no
 * earlier-starting stop string could still complete, because the earliest occurrence decides the cut.
 */
export class StopStringMatcher {
  private pending = '';
  private done = false;
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    if (stops.some((s) => s.length === 0)) throw new PromptError('INVALID_ARGUMENT', 'stop strings must not be empty');
    this.longest = stops.reduce((a, s) => Math.max(a, s.length), 0);
  }

  get stopped(): boolean {
    return this.done;
  }

  push(delta: string): StopStep {
    if (this.done) return { text: '', stopped: true };
    this.pending += delta;
    const match = earliestMatch(this.pending, this.stops);
    const partial = firstPartialStart(this.pending, this.stops, this.longest);
    if (match !== -1 && (partial === -1 || match <= partial)) {
      this.done = true;
      const text = this.pending.slice(0, match);
      this.pending = '';
      return { text, stopped: true };
    }
    const release = partial === -1 ? this.pending.length : partial;
    const text = this.pending.slice(0, release);
    this.pending = this.pending.slice(release);
    return { text, stopped: false };
  }

  /** End of generation without a stop token: release what was held, cut at a stop string if one is in it. */
  flush(): StopStep {
    if (this.done) return { text: '', stopped: true };
    const out = truncateAtStop(this.pending, this.stops);
    this.pending = '';
    this.done = out.stopped;
    return out;
  }
}
