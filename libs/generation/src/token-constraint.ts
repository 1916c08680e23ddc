/**
 * A per-sequence restriction on which tokens may come next (a grammar matcher for structured outputs and tool
 * calls). The decoder asks it to mask the logits before sampling and tells it every token chosen. Computing the
 * next mask may be asynchronous: whoever runs the sequence awaits `ready()` before handing it the next logits.
 */
export interface TokenConstraint {
  /** Pending work for the next mask, or undefined when it is ready (or nothing more will be asked). */
  ready(): Promise<void> | undefined;
  /** Sets the logit of every token the constraint forbids now to -Infinity, in place. */
  mask(scores: Float32Array): void;
  /** Advances with the chosen token; `last` is true when the sequence ends with it (no next mask is computed). */
  accept(token: number, last: boolean): void;
  /** Frees what the constraint holds (the sequence is finished or abandoned). */
  dispose(): void;
}
