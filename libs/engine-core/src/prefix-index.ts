import { ImageRun } from './prefix-hash';

/** A sequence whose KV every stage holds, and the block hashes of the positions it holds. */
export interface PrefixEntry {
  seq: string;
  /** Hash chain of its whole blocks (blockHashes); hashes.length × blockSize ≤ length. */
  hashes: string[];
  /** Positions it holds on every stage. */
  length: number;
  lastUsed: number;
  /** Forks from it in flight: it must stay until their first chunk has run on every stage. */
  pins: number;
  /** A running sequence (its KV belongs to it, so it cannot be evicted); false for a cached, finished one. */
  live: boolean;
}

export interface PrefixMatch {
  entry: PrefixEntry;
  /** Positions the new sequence takes from the entry. */
  length: number;
}

/**
 * Which sequences' KV a new prompt can start from. Entries are found by their block hashes (a hash chain, so the
 * hash of block k names the whole prefix up to it); the longest match wins, the most recently used among equals.
 * A match never ends inside an image's token run (it backs off to the run's start) and always leaves at least one
 * prompt position to prefill, since the logits of the last one are needed.
 */
export class PrefixIndex {
  private readonly entries = new Map<string, PrefixEntry>();
  /** Block hash → entries holding that block (a chain hash also fixes the block's index). */
  private readonly byHash = new Map<string, Set<PrefixEntry>>();

  constructor(readonly blockSize: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(seq: string): PrefixEntry | undefined {
    return this.entries.get(seq);
  }

  all(): PrefixEntry[] {
    return [...this.entries.values()];
  }

  add(e: PrefixEntry): void {
    this.remove(e.seq);
    this.entries.set(e.seq, e);
    for (const h of e.hashes) {
      let set = this.byHash.get(h);
      if (!set) this.byHash.set(h, (set = new Set()));
      set.add(e);
    }
  }

  remove(seq: string): PrefixEntry | undefined {
    const e = this.entries.get(seq);
    if (!e) return undefined;
    this.entries.delete(seq);
    for (const h of e.hashes) {
      const set = this.byHash.get(h);
      set?.delete(e);
      if (set && !set.size) this.byHash.delete(h);
    }
    return e;
  }

  /** The longest usable prefix of a prompt of `promptLength` positions with these block hashes and image runs. */
  match(hashes: string[], promptLength: number, runs: ImageRun[]): PrefixMatch | undefined {
    let best: PrefixEntry | undefined;
    let blocks = 0;
    for (let k = 0; k < hashes.length; k++) {
      const set = this.byHash.get(hashes[k]);
      if (!set?.size) break;
      best = [...set].reduce((a, b) => (b.lastUsed > a.lastUsed ? b : a));
      blocks = k + 1;
    }
    if (!best) return undefined;
    let length = Math.min(blocks * this.blockSize, promptLength - 1, best.length);
    for (const r of runs) if (r.start < length && length < r.end) length = r.start;
    return length > 0 ? { entry: best, length } : undefined;
  }

  /** The least recently used cached entry that may be evicted now (not running, no fork in flight). */
  lru(): PrefixEntry | undefined {
    let out: PrefixEntry | undefined;
    for (const e of this.entries.values()) if (!e.live && !e.pins && (!out || e.lastUsed < out.lastUsed)) out = e;
    return out;
  }

  /** Cached entries (not running, not pinned) whose every block `e` also holds: `e` makes them redundant. */
  dominatedBy(e: PrefixEntry): PrefixEntry[] {
    const out: PrefixEntry[] = [];
    for (const o of this.entries.values()) {
      if (o === e || o.live || o.pins || o.hashes.length > e.hashes.length) continue;
      // Chain hashes: equal last blocks mean equal prefixes.
      if (!o.hashes.length || o.hashes[o.hashes.length - 1] === e.hashes[o.hashes.length - 1]) out.push(o);
    }
    return out;
  }
}
