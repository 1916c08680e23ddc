import { ActArray, ActType, actBytes } from './activations';

/** One sequence's keys and values for a layer range: per layer [1, kvHeads, length, headDim], exactly sized. */
export interface SequenceKv {
  length: number;
  keys: ActArray[];
  values: ActArray[];
  lastUsed: number;
}

export class KvBudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KvBudgetError';
  }
}

export class UnknownSequenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownSequenceError';
  }
}

/**
 * KV cache of one layer range, per sequence, within a memory budget. Each step replaces a sequence's tensors
 * with the exactly-sized `present` outputs (onnxruntime-node copies outputs anyway), so capacity never exceeds
 * use (onnxruntime-node.md §8.8).
 */
export class KvStore {
  private readonly seqs = new Map<string, SequenceKv>();
  private usedTokens = 0;
  readonly bytesPerToken: number;

  constructor(
    readonly actType: ActType,
    readonly numLayers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly budgetBytes: number,
  ) {
    this.bytesPerToken = numLayers * 2 * kvHeads * headDim * actBytes(actType);
  }

  get capacityTokens(): number {
    return Math.floor(this.budgetBytes / this.bytesPerToken);
  }

  get tokensInUse(): number {
    return this.usedTokens;
  }

  get sequenceCount(): number {
    return this.seqs.size;
  }

  get(seq: string): SequenceKv | undefined {
    return this.seqs.get(seq);
  }

  /** The state to extend from `start`: a fresh one at 0, or the existing one if it already holds `start` tokens. */
  prepare(seq: string, start: number, adding: number): SequenceKv {
    let s = this.seqs.get(seq);
    if (start === 0 && s) {
      this.release(seq);
      s = undefined;
    }
    if (!s) {
      if (start !== 0) throw new UnknownSequenceError(`unknown sequence ${seq} (a new sequence must start at position 0, got ${start})`);
      s = { length: 0, keys: [], values: [], lastUsed: Date.now() };
    } else if (s.length !== start) {
      throw new UnknownSequenceError(`sequence ${seq} holds ${s.length} positions but the chunk starts at ${start}`);
    }
    if (this.usedTokens + adding > this.capacityTokens) {
      throw new KvBudgetError(`KV budget exhausted: ${this.usedTokens} + ${adding} tokens > ${this.capacityTokens}`);
    }
    return s;
  }

  commit(seq: string, s: SequenceKv, keys: ActArray[], values: ActArray[], newLength: number): void {
    this.usedTokens += newLength - s.length;
    s.keys = keys;
    s.values = values;
    s.length = newLength;
    s.lastUsed = Date.now();
    this.seqs.set(seq, s);
  }

  release(seq: string): boolean {
    const s = this.seqs.get(seq);
    if (!s) return false;
    this.usedTokens -= s.length;
    this.seqs.delete(seq);
    return true;
  }

  /** Drops sequences idle for longer than `maxIdleMs` (a driver that died without releasing them). */
  evictIdle(maxIdleMs: number, now = Date.now()): string[] {
    const gone: string[] = [];
    for (const [id, s] of this.seqs) if (now - s.lastUsed > maxIdleMs) gone.push(id);
    gone.forEach((id) => this.release(id));
    return gone;
  }
}
