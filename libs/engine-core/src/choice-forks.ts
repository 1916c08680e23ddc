import type { Sequence } from './sequence';

/**
 * The choices of one request (OpenAI's n) that run on this driver share their prompt. The first to arrive leads:
 * it prefills the prompt; the others wait for that, then start from its KV — every position the two share but the
 * choice's last, whose logits it needs for its own first token — so the prompt is prefilled once, however many
 * choices there are. Each choice keeps its own decoder and seed, so what it samples is what it would sample alone.
 *
 * This works without the prefix cache: the source is a running sibling and nothing outlives the request. A fork
 * pins its source (`forkPins`) until its first chunk has run on every stage; the scheduler keeps a source that ends
 * sooner until then.
 */
export class ChoiceForks {
  /** Group → the running choice that prefills (or has prefilled) the prompt. */
  private readonly leaders = new Map<string, Sequence>();

  /** @param dropHit frees a prefix-cache hit that a longer fork replaces (unpins it). */
  constructor(private readonly dropHit: (s: Sequence) => void) {}

  /** A new sequence: it leads its group, forks from the leader now (its prompt is prefilled), or waits for it. */
  join(seq: Sequence): void {
    if (!seq.group) return;
    const leader = this.leaders.get(seq.group);
    if (!leader) this.leaders.set(seq.group, seq);
    else if (leader.prefilled >= leader.ids.length) this.fork(seq, leader);
    else seq.waitsFor = leader;
  }

  /** `leader`'s prompt is prefilled on every stage: the siblings that wait for it fork from it. */
  prefilled(leader: Sequence, running: Iterable<Sequence>): void {
    for (const s of running) {
      if (s.waitsFor !== leader) continue;
      s.waitsFor = undefined;
      this.fork(s, leader);
    }
  }

  /** A sequence leaves. A leader that had not prefilled its prompt hands the lead to the first sibling waiting. */
  leave(seq: Sequence, running: Iterable<Sequence>): void {
    if (!seq.group || this.leaders.get(seq.group) !== seq) return;
    this.leaders.delete(seq.group);
    let next: Sequence | undefined;
    for (const s of running) {
      if (s.waitsFor !== seq) continue;
      if (next) s.waitsFor = next;
      else {
        next = s;
        s.waitsFor = undefined;
        this.leaders.set(seq.group, s);
      }
    }
  }

  /** A fork's first chunk has run (or never will): its source's pin goes. Returns the source. */
  unpin(seq: Sequence): Sequence | undefined {
    const f = seq.fork;
    if (!f?.pinned) return undefined;
    f.pinned = false;
    f.source.forkPins--;
    return f.source;
  }

  clear(): void {
    this.leaders.clear();
  }

  private fork(seq: Sequence, source: Sequence): void {
    const length = forkLength(source, seq);
    // A prefix-cache hit as long (a whole prompt cached in blocks can reach as far) is kept.
    if (length <= seq.cachedTokens) return;
    this.dropHit(seq);
    seq.fork = { source, length, pinned: true };
    source.forkPins++;
    seq.prefillSent = seq.prefilled = length;
  }
}

/**
 * The positions `seq` can take from `source`: their common prefix (a retried choice also holds its replayed
 * tokens), leaving `seq` at least one to prefill, and never ending inside an image's token run (the prefix cache's
 * rule too: the rest of the run is then prefilled with its image rows).
 */
export function forkLength(source: Sequence, seq: Sequence): number {
  const max = Math.min(source.ids.length, seq.ids.length - 1);
  let n = 0;
  while (n < max && source.ids[n] === seq.ids[n]) n++;
  while (n > 0 && seq.isImage(n - 1) && seq.isImage(n)) n--;
  return n;
}
