import { Admission } from './admission';
import { ImageRun, PREFIX_BLOCK, blockHashes } from './prefix-hash';
import { PrefixEntry, PrefixIndex } from './prefix-index';
import type { Sequence } from './sequence';

/** What the prefix cache found for a new sequence: its block hashes and, on a hit, the prefix it starts from. */
export interface PrefixLookup {
  hashes: string[];
  runs: ImageRun[];
  hit?: { from: string; length: number };
  /** Whether the hit's source is still pinned for this sequence. */
  pinned: boolean;
}

export interface PrefixCacheOptions {
  admission: Admission;
  /** Frees these sequences' KV on every stage (the driver's release path). */
  release: (seqs: string[]) => void;
  blockSize?: number;
  /** Called per lookup with the prompt's positions and how many of them were found (vLLM's queries and hits). */
  onLookup?: (queried: number, hit: number) => void;
  now?: () => number;
}

/**
 * Stage 0's prefix cache, the single authority over which KV the stages keep for reuse. A sequence that finishes
 * is not released: its slot stays on every stage as a cached prefix (the positions actually fed: prompt and
 * generated tokens but the last), counted by admission like a sequence of its length. A new sequence whose block
 * hashes match starts from it: its first chunk carries `from` and `start = L`, each stage copies the first L
 * positions of the source's slot into the new slot, and prefill goes on at L. A running sequence is matched too
 * once its prompt is prefilled (the choices of one n > 1 request fork from each other through ChoiceForks instead,
 * without waiting for a block boundary or needing the cache).
 *
 * Cached prefixes are evicted least recently used first, when admission needs their room, when they are idle for
 * longer than the caller allows (before the stages' own idle eviction could drop them), or when a newer entry
 * holds all their blocks; all of them when the ring breaks.
 */
export class PrefixCache {
  readonly index: PrefixIndex;
  queriedTokens = 0;
  hitTokens = 0;
  private readonly now: () => number;

  constructor(private readonly o: PrefixCacheOptions) {
    this.index = new PrefixIndex(o.blockSize ?? PREFIX_BLOCK);
    this.now = o.now ?? Date.now;
  }

  get blockSize(): number {
    return this.index.blockSize;
  }

  /** Cached (finished) prefixes held. */
  get cachedCount(): number {
    return this.index.all().filter((e) => !e.live).length;
  }

  /** Finds the longest cached prefix of a prompt and pins it until `unpin` (the fork's first chunk has run). */
  lookup(ids: number[], runs: ImageRun[]): PrefixLookup {
    const hashes = blockHashes(ids, runs, this.blockSize);
    const m = this.index.match(hashes, ids.length, runs);
    const hit = m ? { from: m.entry.seq, length: m.length } : undefined;
    if (m) {
      m.entry.pins++;
      m.entry.lastUsed = this.now();
    }
    this.queriedTokens += ids.length;
    this.hitTokens += hit?.length ?? 0;
    this.o.onLookup?.(ids.length, hit?.length ?? 0);
    return { hashes, runs, hit, pinned: Boolean(m) };
  }

  unpin(l: PrefixLookup | undefined): void {
    if (!l?.pinned || !l.hit) return;
    l.pinned = false;
    const e = this.index.get(l.hit.from);
    if (e) e.pins = Math.max(0, e.pins - 1);
  }

  /** Evicts cached prefixes, least recently used first, until admission has room for `n`; whether it has. */
  makeRoom(n: number): boolean {
    while (!this.o.admission.fits(n)) {
      const victim = this.index.lru();
      if (!victim) return false;
      this.evict(victim);
    }
    return true;
  }

  /** A sequence's prompt is prefilled on every stage: later prompts may fork from it while it runs. */
  prefilled(seq: Sequence): void {
    if (!seq.prefix || seq.ids.length < this.blockSize) return;
    this.register({ seq: seq.id, hashes: seq.prefix.hashes, length: seq.ids.length, lastUsed: this.now(), pins: 0, live: true });
  }

  /**
   * A sequence ended. One that finished keeps its KV as a cached prefix (true: do not release it); one that failed,
   * or holds less than a block, is forgotten (false: the caller releases it).
   */
  retain(seq: Sequence): boolean {
    this.unpin(seq.prefix);
    const live = this.index.get(seq.id);
    const pins = live?.pins ?? 0;
    this.index.remove(seq.id);
    if (seq.failed || !seq.prefix) return false;
    const fed = seq.fedIds();
    const hashes = blockHashes(fed, seq.prefix.runs, this.blockSize);
    if (!hashes.length) return false;
    this.o.admission.holdCached(fed.length);
    this.register({ seq: seq.id, hashes, length: fed.length, lastUsed: this.now(), pins, live: false });
    return true;
  }

  /** Evicts cached prefixes unused for longer than `maxIdleMs`. */
  expireIdle(maxIdleMs: number): number {
    const now = this.now();
    const old = this.index.all().filter((e) => !e.live && !e.pins && now - e.lastUsed > maxIdleMs);
    old.forEach((e) => this.evict(e));
    return old.length;
  }

  /** Forgets every entry and frees the cached ones (the ring broke, or a stage did not know a source). */
  clear(): void {
    for (const e of this.index.all()) {
      if (e.live) this.index.remove(e.seq);
      else this.evict(e);
    }
  }

  private register(e: PrefixEntry): void {
    this.index.add(e);
    for (const old of this.index.dominatedBy(e)) this.evict(old);
  }

  private evict(e: PrefixEntry): void {
    this.index.remove(e.seq);
    if (e.live) return;
    this.o.admission.releaseCached(e.length);
    this.o.release([e.seq]);
  }
}

/**
 * Whether a prompt's images still need their vision pass: an image whose tokens all lie inside the cached prefix
 * has its rows in the KV already, so only an image token beyond the hit needs one.
 */
export function visionNeeded(ids: number[], imageTokenId: number, cached: PrefixLookup | undefined): boolean {
  return ids.lastIndexOf(imageTokenId) >= (cached?.hit?.length ?? 0);
}
