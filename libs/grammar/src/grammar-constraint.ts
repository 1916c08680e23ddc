import type { GrammarMatcher } from '@mlc-ai/web-xgrammar';
import type { TokenConstraint } from '@ivl/generation';
import type { GrammarEngine } from './grammar-engine';
import { GrammarError, type GrammarSpec } from './grammar-spec';

/**
 * One sequence's grammar matcher as a TokenConstraint. The mask for the next token is computed as soon as a token
 * is accepted, while that token goes round the pipeline. Every call into the matcher runs on one chain, in order,
 * so a token accepted while a mask is being computed waits for it; and no mask is asked for once the matcher has
 * terminated (xgrammar aborts its whole instance on that): after termination only the stop tokens are allowed.
 */
export class GrammarConstraint implements TokenConstraint {
  private matcher?: GrammarMatcher;
  private generation = -1;
  private bitmask?: Int32Array;
  private chain: Promise<void> = Promise.resolve();
  private pending?: Promise<void>;
  private readonly tokens: number[] = [];
  /** Tokens the matcher has accepted (it lags `tokens` while calls are queued). */
  private applied = 0;
  private terminated = false;
  private disposed = false;
  error?: Error;

  constructor(private readonly engine: GrammarEngine, private readonly spec: GrammarSpec) {}

  ready(): Promise<void> | undefined {
    if (!this.pending && !this.bitmask && !this.disposed && !this.error && !this.terminated) this.run(true);
    return this.pending;
  }

  accept(token: number, last: boolean): void {
    this.tokens.push(token);
    this.bitmask = undefined;
    if (this.disposed || this.error) return;
    this.run(!last);
  }

  /** Queues: catch the matcher up with the accepted tokens, then (when `wantMask`) compute the next mask. */
  private run(wantMask: boolean): void {
    const p = (this.chain = this.chain.then(async () => {
      if (this.disposed || this.error) return;
      try {
        await this.catchUp();
        if (wantMask && !this.terminated && !this.disposed && this.applied === this.tokens.length) {
          const m = this.matcher!;
          this.bitmask = await this.engine.guard(this.generation, () => m.getNextTokenBitmask());
        }
      } catch (e) {
        this.error = e instanceof GrammarError ? e : new GrammarError((e as Error).message);
      }
    }));
    this.pending = p;
    void p.then(() => {
      if (this.pending === p) this.pending = undefined;
      if (this.disposed && this.pending === undefined) this.free();
    });
  }

  private async catchUp(): Promise<void> {
    if (!this.matcher || this.generation !== this.engine.currentGeneration) {
      // First use, or the instance was replaced after another request's abort: rebuild by replaying.
      const old = this.matcher;
      const upTo = this.tokens.length;
      const m = await this.engine.matcher(this.spec, this.tokens.slice(0, upTo));
      freeQuietly(old);
      this.matcher = m.matcher;
      this.generation = m.generation;
      this.applied = upTo;
    }
    while (this.applied < this.tokens.length) {
      const t = this.tokens[this.applied++];
      if (this.matcher.isTerminated()) throw new GrammarError(`token ${t} came after the grammar was complete`);
      if (!this.matcher.acceptToken(t)) throw new GrammarError(`token ${t} was sampled but does not continue the grammar`);
    }
    this.terminated = this.matcher.isTerminated();
  }

  mask(scores: Float32Array): void {
    if (this.error) throw this.error;
    if (this.terminated) {
      const stops = new Set(this.engine.stopTokenIds);
      for (let i = 0; i < scores.length; i++) if (!stops.has(i)) scores[i] = -Infinity;
      return;
    }
    const bits = this.bitmask;
    if (!bits) throw new GrammarError('the grammar mask was not ready (ready() must be awaited before sampling)');
    this.bitmask = undefined;
    const V = scores.length;
    for (let w = 0; w < bits.length; w++) {
      const word = bits[w];
      if (word === -1) continue;
      const base = w << 5;
      for (let b = 0; b < 32 && base + b < V; b++) if (((word >>> b) & 1) === 0) scores[base + b] = -Infinity;
    }
    // Rows beyond the grammar's vocabulary (none for InternVL) are never allowed.
    for (let i = bits.length << 5; i < V; i++) scores[i] = -Infinity;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.pending) this.free();
  }

  private free(): void {
    freeQuietly(this.matcher);
    this.matcher = undefined;
  }
}

function freeQuietly(m: GrammarMatcher | undefined): void {
  try {
    m?.dispose();
  } catch {
    // A matcher of an aborted instance cannot be freed; the instance goes with it.
  }
}
