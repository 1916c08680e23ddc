/**
 * Admission against the KV cache of every stage. The stages keep KV in slot buffers (one slot per sequence, every
 * slot as long as the longest), so what a set of sequences holds is count × the longest reservation, and that is
 * what is checked against the pipeline's capacity: what admission allows is what can be resident.
 *
 * `tryAcquire` is the intake path: a driver takes a job off the queue, and hands it back when it cannot start it
 * now, so waiting work stays in the queue where every replica (and the autoscaler) sees it. `acquire` waits in
 * arrival order instead (for callers without a queue).
 *
 * Cached prefixes (the prefix cache keeps finished sequences' KV on every stage) hold a slot each too: they count
 * like admitted sequences of their length, and the prefix cache evicts them when a new sequence needs the room.
 */
export class Admission {
  private readonly held: number[] = [];
  private readonly cached: number[] = [];
  private readonly waiting: Array<{ n: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly roomListeners: Array<() => void> = [];

  constructor(private capacity: number) {}

  setCapacity(tokens: number): void {
    this.capacity = tokens;
    this.drain();
  }

  get capacityTokens(): number {
    return this.capacity;
  }

  /** Positions the admitted sequences and cached prefixes may occupy: count × longest reservation. */
  get reserved(): number {
    const all = [...this.held, ...this.cached];
    return all.length ? all.length * Math.max(...all) : 0;
  }

  /** Cached prefixes held (each a slot of its length on every stage). */
  get cachedPrefixes(): number {
    return this.cached.length;
  }

  get running(): number {
    return this.held.length;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Whether a sequence reserving `n` positions fits next to those admitted. */
  fits(n: number): boolean {
    const longest = Math.max(n, ...this.held, ...this.cached);
    return (this.held.length + this.cached.length + 1) * longest <= this.capacity;
  }

  /** Whether it would fit once every cached prefix were evicted (the prefix cache can always make that room). */
  fitsWithoutCached(n: number): boolean {
    const longest = Math.max(n, ...this.held);
    return (this.held.length + 1) * longest <= this.capacity;
  }

  /** A finished sequence's KV stays as a cached prefix of `n` positions. */
  holdCached(n: number): void {
    this.cached.push(n);
  }

  /**
   * A cached prefix was evicted. Room listeners are not told: intake is never held back for room that cached
   * prefixes take (they can always be evicted), and an eviction is made for the job at hand.
   */
  releaseCached(n: number): void {
    const i = this.cached.indexOf(n);
    if (i >= 0) this.cached.splice(i, 1);
    this.drain();
  }

  /** Checks that a request can ever fit (alone), with the reason if not. */
  check(n: number): void {
    if (n > this.capacity) throw new Error(`the request needs ${n} KV tokens but the pipeline holds at most ${this.capacity}`);
  }

  /** Admits now if there is room (and nobody is waiting ahead); never waits. */
  tryAcquire(n: number): boolean {
    this.check(n);
    if (this.waiting.length || !this.fits(n)) return false;
    this.held.push(n);
    return true;
  }

  acquire(n: number): Promise<void> {
    try {
      this.check(n);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ n, resolve, reject });
      this.drain();
    });
  }

  release(n: number): void {
    const i = this.held.indexOf(n);
    if (i >= 0) this.held.splice(i, 1);
    this.drain();
    for (const f of this.roomListeners) f();
  }

  /** Called after every release (room may have opened). */
  onRelease(f: () => void): void {
    this.roomListeners.push(f);
  }

  failWaiting(e: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  private drain(): void {
    while (this.waiting.length && this.fits(this.waiting[0].n)) {
      const w = this.waiting.shift()!;
      this.held.push(w.n);
      w.resolve();
    }
  }
}
