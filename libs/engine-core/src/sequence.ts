import type { SequenceDecoder, StepResult } from '@ivl/generation';
import type { ActArray } from '@ivl/runtime';
import type { PrefixLookup } from './prefix-cache';

export type SeqState = 'prefill' | 'decode' | 'done';

/**
 * One sequence in the driver: the positions still to prefill, the token to feed next, and where its image rows
 * go. `ids` is the prompt plus any tokens replayed from an earlier attempt.
 */
export class Sequence {
  state: SeqState = 'prefill';
  /** Positions sent round the ring / returned from it, during prefill. */
  prefillSent = 0;
  prefilled = 0;
  inFlight = false;
  nextToken = -1;
  /** Position of `nextToken`. */
  position = 0;
  /** The step this sequence last rode in (the scheduler serves the longest-waiting first). */
  lastStep = -1;
  readonly done: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  /** Index of each image-context token's row: imgRank[p] = number of image tokens before position p. */
  private readonly imgRank: Int32Array;
  firstTokenAt?: number;
  prefillStartedAt?: number;
  readonly createdAt = Date.now();
  cancelled = false;
  /** W3C trace context of the job's span, carried by this sequence's traced micro-batches. */
  trace: Record<string, string> = {};
  /** Prefix cache: this prompt's block hashes and, on a hit, the cached prefix its KV starts from. */
  prefix?: PrefixLookup;
  /** The choices of one request (OpenAI's n) share this id: one prefills the prompt, the others fork from it. */
  group?: string;
  /** The sibling choice whose prompt prefill this one waits for (it is not scheduled meanwhile). */
  waitsFor?: Sequence;
  /** Starts from a sibling's KV: the first `length` positions of `source`; `pinned` until that chunk has run. */
  fork?: { source: Sequence; length: number; pinned: boolean };
  /** Forks from this sequence whose first chunk has not run yet: its KV must stay on every stage until then. */
  forkPins = 0;
  /** Positions every stage holds (returned from the ring). */
  committed = 0;
  /** Tokens fed after `ids` (the sampled tokens sent as decode rows), in order. */
  readonly fedTokens: number[] = [];
  failed = false;

  constructor(
    readonly id: string,
    /** The prompt followed by the tokens replayed from an earlier attempt. */
    readonly ids: number[],
    readonly promptLength: number,
    readonly decoder: SequenceDecoder,
    readonly imageRows: ActArray | undefined,
    imageTokenId: number,
    readonly hidden: number,
    readonly onStep: (step: StepResult) => void,
  ) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined);
    this.imgRank = new Int32Array(ids.length + 1);
    for (let i = 0; i < ids.length; i++) this.imgRank[i + 1] = this.imgRank[i] + (ids[i] === imageTokenId ? 1 : 0);
  }

  /** The image rows needed by positions [from, to). */
  imageRowsFor(from: number, to: number): ActArray | undefined {
    if (!this.imageRows) return undefined;
    const a = this.imgRank[from];
    const b = this.imgRank[to];
    return b > a ? this.imageRows.slice(a * this.hidden, b * this.hidden) : undefined;
  }

  /** Where this sequence's KV starts from: a sibling choice's (fork) or a cached prefix's; undefined from scratch. */
  get startFrom(): { from: string; length: number } | undefined {
    return this.fork ? { from: this.fork.source.id, length: this.fork.length } : this.prefix?.hit;
  }

  /** Positions taken from another sequence's KV instead of prefilled (0 without a hit or fork). */
  get cachedTokens(): number {
    return this.startFrom?.length ?? 0;
  }

  /** Whether position p holds an image-context token. */
  isImage(p: number): boolean {
    return this.imgRank[p + 1] > this.imgRank[p];
  }

  /** The token ids of the positions every stage holds. */
  fedIds(): number[] {
    return [...this.ids, ...this.fedTokens].slice(0, this.committed);
  }

  finish(): void {
    this.state = 'done';
    this.settle.resolve();
  }

  fail(e: Error): void {
    this.state = 'done';
    this.failed = true;
    this.settle.reject(e);
  }
}
