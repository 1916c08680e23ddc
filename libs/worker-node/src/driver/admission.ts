/**
 * Admits sequences while the KV cache of every stage has room for their prompt and their longest answer; the
 * rest wait in arrival order instead of running a stage out of memory.
 */
export class Admission {
  private used = 0;
  private readonly waiting: Array<{ n: number; resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(private capacity: number) {}

  setCapacity(tokens: number): void {
    this.capacity = tokens;
    this.drain();
  }

  get reserved(): number {
    return this.used;
  }

  get queued(): number {
    return this.waiting.length;
  }

  acquire(n: number): Promise<void> {
    if (n > this.capacity) return Promise.reject(new Error(`the request needs ${n} KV tokens but the pipeline holds at most ${this.capacity}`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ n, resolve, reject });
      this.drain();
    });
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
    this.drain();
  }

  failWaiting(e: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  private drain(): void {
    while (this.waiting.length && this.used + this.waiting[0].n <= this.capacity) {
      const w = this.waiting.shift()!;
      this.used += w.n;
      w.resolve();
    }
  }
}
