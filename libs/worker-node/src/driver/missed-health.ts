/**
 * Whether a stage that missed its health deadline is down, or our own event loop was too busy to hear it. A health
 * answer is read by this thread's event loop: while the loop is stalled (a large image tiled on it, a long GC) the
 * answer waits in the socket and the deadline timer fires first, so a busy stage 0 once judged a healthy stage 1
 * dead six times in 35 s.
 *
 * The rule: a miss counts only if our own loop lag during that poll stayed within `toleranceMs` (the peer then had
 * at least deadline − tolerance of our attention to answer in). A miss under a larger lag is doubtful: the
 * monitor polls again at once, keeping its last verdict. Doubt has a limit: misses that keep coming for
 * `maxDoubtMs` count whatever the lag, so a stage that is really gone is still noticed by a busy driver (a crashed
 * stage is usually noticed sooner, by its ring link going down).
 */
export interface MissedHealthRule {
  /** Own loop lag up to which a missed deadline is believed. Default 250 ms (a quarter of the 1 s deadline). */
  toleranceMs: number;
  /** Misses doubted for this long are believed anyway. Default 10 s. */
  maxDoubtMs: number;
}

export const DEFAULT_MISSED_HEALTH_RULE: MissedHealthRule = { toleranceMs: 250, maxDoubtMs: 10_000 };

export class MissedHealthJudge {
  private doubtingSince?: number;

  constructor(readonly rule: MissedHealthRule = DEFAULT_MISSED_HEALTH_RULE) {}

  /** A poll in which some stage did not answer, with our own loop's lag during it: is that stage down? */
  isDown(ownLagMs: number, now = Date.now()): boolean {
    if (ownLagMs <= this.rule.toleranceMs) {
      this.doubtingSince = undefined;
      return true;
    }
    this.doubtingSince ??= now;
    if (now - this.doubtingSince < this.rule.maxDoubtMs) return false;
    this.doubtingSince = undefined;
    return true;
  }

  /** Every stage answered: doubt ends. */
  answered(): void {
    this.doubtingSince = undefined;
  }
}
