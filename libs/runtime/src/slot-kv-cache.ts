import { ActArray, ActType, actBytes, allocAct } from './activations';

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

/** Rows of one sequence inside an activation batch: `length` tokens at positions start..start+length-1. */
export interface SeqChunk {
  seq: string;
  start: number;
  length: number;
  /**
   * Prefix cache: the sequence is new and starts from the first `start` positions of sequence `from` (a cached or
   * running one), which the stage copies into the new sequence's slot before the chunk runs.
   */
  from?: string;
}

export interface SlotEntry {
  slot: number;
  /** Valid positions in the slot's rows. */
  length: number;
  lastUsed: number;
}

/** Where a batch sits in the slot buffers: slots [lo, lo + rows), chunk i at slot lo + rowOf[i]. */
export interface SlotWindow {
  lo: number;
  rows: number;
  rowOf: number[];
}

export interface SlotKvOptions {
  /** Capacity grows in multiples of this many positions (and is padded up to it while the budget allows). */
  tokenChunk?: number;
  /** Slots are added this many at a time while the budget allows. */
  slotChunk?: number;
}

/**
 * The KV cache of one layer range, in place: per layer one key and one value buffer [slots, kvHeads, capacity,
 * headDim] holding every sequence the stage serves, one slot each. A step's graph reads the rows of its batch
 * straight from these buffers (zero-copy inputs) and returns only the new positions, which are written here; so
 * a step costs O(new tokens) in copies whatever the context, and a batch is a contiguous window of slots with no
 * gather or scatter. Because every slot has the same capacity, the memory held is slots × capacity, which is what
 * `tokensInUse` reports and what the budget bounds (docs/engine-core.md).
 */
export class SlotKvCache {
  readonly bytesPerToken: number;
  keys: ActArray[] = [];
  values: ActArray[] = [];
  private slotCount = 0;
  private cap = 0;
  private readonly seqs = new Map<string, SlotEntry>();
  private readonly tokenChunk: number;
  private readonly slotChunk: number;

  constructor(
    readonly kvType: ActType,
    readonly numLayers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly budgetBytes: number,
    o: SlotKvOptions = {},
  ) {
    this.bytesPerToken = numLayers * 2 * kvHeads * headDim * actBytes(kvType);
    this.tokenChunk = o.tokenChunk ?? 256;
    this.slotChunk = o.slotChunk ?? 4;
  }

  /** Positions the budget holds (slots × capacity can never exceed it). */
  get capacityTokens(): number {
    return Math.floor(this.budgetBytes / this.bytesPerToken);
  }

  /** Positions resident in the buffers: slots × capacity, used or not. */
  get tokensInUse(): number {
    return this.slotCount * this.cap;
  }

  get residentBytes(): number {
    return this.tokensInUse * this.bytesPerToken;
  }

  get sequenceCount(): number {
    return this.seqs.size;
  }

  get capacity(): number {
    return this.cap;
  }

  get slots(): number {
    return this.slotCount;
  }

  get(seq: string): SlotEntry | undefined {
    return this.seqs.get(seq);
  }

  /** Elements of one slot's rows in one layer's buffer. */
  get slotSize(): number {
    return this.kvHeads * this.cap * this.headDim;
  }

  /**
   * Makes room for a batch (one chunk per sequence) and returns its window. A chunk at 0 starts its sequence
   * afresh; a chunk with `from` starts a new sequence as a copy of the first `start` positions of that one (a
   * fork); any other start must equal the positions already held. Nothing changes when the batch cannot fit.
   */
  prepare(chunks: SeqChunk[]): SlotWindow {
    this.admit(chunks);
    return this.window(chunks.map((c) => c.seq));
  }

  /**
   * As `prepare`, for a pass of two groups: `rows` (decode rows, one window) and one prefill `chunk` (a window of
   * its own slot). Either may be absent; an absent group's window is empty. The chunk's slot is read after the
   * rows' window is made, since making it may swap the chunk's slot.
   */
  prepareMixed(rows: SeqChunk[], chunk?: SeqChunk): { rows: SlotWindow; chunk: SlotWindow } {
    this.admit(chunk ? [...rows, chunk] : rows);
    const win = rows.length ? this.window(rows.map((c) => c.seq)) : { lo: 0, rows: 0, rowOf: [] };
    const own = chunk ? { lo: this.seqs.get(chunk.seq)!.slot, rows: 1, rowOf: [0] } : { lo: 0, rows: 0, rowOf: [] };
    return { rows: win, chunk: own };
  }

  /** Validates a batch, makes room for it and creates (or forks) its new sequences. */
  private admit(chunks: SeqChunk[]): void {
    if (new Set(chunks.map((c) => c.seq)).size !== chunks.length) throw new RangeError('a sequence appears twice in one batch');
    for (const c of chunks) {
      const s = this.seqs.get(c.seq);
      if (c.from !== undefined) {
        const src = this.seqs.get(c.from);
        if (!src) throw new UnknownSequenceError(`unknown prefix source ${c.from} for sequence ${c.seq} (this stage does not hold it)`);
        if (src.length < c.start) throw new UnknownSequenceError(`prefix source ${c.from} holds ${src.length} positions, sequence ${c.seq} needs ${c.start}`);
        if (c.from === c.seq) throw new UnknownSequenceError(`sequence ${c.seq} cannot start from itself`);
        continue;
      }
      if (c.start === 0) continue;
      if (!s) throw new UnknownSequenceError(`unknown sequence ${c.seq} (a new sequence must start at position 0, got ${c.start})`);
      if (s.length !== c.start) throw new UnknownSequenceError(`sequence ${c.seq} holds ${s.length} positions but the chunk starts at ${c.start}`);
    }
    const inBatch = new Map(chunks.map((c) => [c.seq, c.start + c.length]));
    let needLen = 0;
    for (const [id, s] of this.seqs) needLen = Math.max(needLen, inBatch.get(id) ?? s.length);
    for (const n of inBatch.values()) needLen = Math.max(needLen, n);
    const needSlots = this.seqs.size + chunks.filter((c) => !this.seqs.has(c.seq)).length;
    const limit = this.capacityTokens;
    if (needSlots * needLen > limit) {
      throw new KvBudgetError(`KV budget exhausted: ${needSlots} sequences × ${needLen} positions > ${limit} positions (${Math.round(this.budgetBytes / 2 ** 20)} MiB)`);
    }
    if (needSlots > this.slotCount || needLen > this.cap) this.resize(needSlots, needLen);
    const now = Date.now();
    for (const c of chunks) {
      let s = this.seqs.get(c.seq);
      if (s && (c.start === 0 || c.from !== undefined)) s.length = 0;
      if (s) s.lastUsed = now;
      else this.seqs.set(c.seq, (s = { slot: this.freeSlot(), length: 0, lastUsed: now }));
      if (c.from !== undefined) this.fork(this.seqs.get(c.from)!, s, c.start, now);
    }
  }

  /**
   * Copies the first `n` positions of `src` into `dst` (every layer, keys and values): one memcpy of
   * n × headDim elements per KV head and layer, i.e. n × bytesPerToken bytes in all, instead of a prefill of n
   * positions. Using a source counts as using it, so a cached prefix in use is never dropped as idle.
   */
  private fork(src: SlotEntry, dst: SlotEntry, n: number, now: number): void {
    const D = this.headDim;
    for (const which of [this.keys, this.values]) {
      for (const buf of which) {
        for (let h = 0; h < this.kvHeads; h++) {
          const from = (src.slot * this.kvHeads + h) * this.cap * D;
          buf.copyWithin((dst.slot * this.kvHeads + h) * this.cap * D, from, from + n * D);
        }
      }
    }
    dst.length = n;
    src.lastUsed = now;
  }

  /** Writes S new positions of one sequence from a [rows, kvHeads, S, headDim] graph output (row `row`). */
  write(layer: number, seq: string, start: number, S: number, row: number, newKey: ActArray, newValue: ActArray): void {
    const s = this.seqs.get(seq);
    if (!s) throw new UnknownSequenceError(`unknown sequence ${seq}`);
    const D = this.headDim;
    for (let h = 0; h < this.kvHeads; h++) {
      const src = (row * this.kvHeads + h) * S * D;
      const dst = ((s.slot * this.kvHeads + h) * this.cap + start) * D;
      this.keys[layer].set(newKey.subarray(src, src + S * D) as never, dst);
      this.values[layer].set(newValue.subarray(src, src + S * D) as never, dst);
    }
  }

  commit(seq: string, newLength: number): void {
    const s = this.seqs.get(seq);
    if (!s) throw new UnknownSequenceError(`unknown sequence ${seq}`);
    s.length = newLength;
    s.lastUsed = Date.now();
  }

  release(seq: string): boolean {
    if (!this.seqs.delete(seq)) return false;
    if (!this.seqs.size) {
      this.keys = [];
      this.values = [];
      this.slotCount = 0;
      this.cap = 0;
      return true;
    }
    // Give memory back once the remaining sequences fit in half the slots or half the capacity.
    const maxLen = Math.max(...[...this.seqs.values()].map((s) => s.length), 1);
    const slots = this.roundUp(this.seqs.size, this.slotChunk);
    const cap = this.roundUp(maxLen, this.tokenChunk);
    if (slots * 2 <= this.slotCount || cap * 2 <= this.cap) this.relayout(Math.min(slots, this.slotCount), Math.min(cap, this.cap));
    return true;
  }

  /** Drops sequences idle for longer than `maxIdleMs` (a driver that died without releasing them). */
  evictIdle(maxIdleMs: number, now = Date.now()): string[] {
    const gone: string[] = [];
    for (const [id, s] of this.seqs) if (now - s.lastUsed > maxIdleMs) gone.push(id);
    gone.forEach((id) => this.release(id));
    return gone;
  }

  private roundUp(n: number, step: number): number {
    return Math.ceil(n / step) * step;
  }

  /** Grows to at least (slots, len), padding each up to its chunk where the budget allows. */
  private resize(needSlots: number, needLen: number): void {
    const limit = this.capacityTokens;
    let cap = needLen > this.cap ? this.roundUp(needLen, this.tokenChunk) : this.cap;
    let slots = needSlots > this.slotCount ? this.roundUp(needSlots, this.slotChunk) : this.slotCount;
    if (slots * cap > limit) slots = Math.max(needSlots, Math.floor(limit / cap));
    if (slots * cap > limit) cap = Math.max(needLen, Math.floor(limit / slots));
    if (slots * cap > limit) {
      // The current padding itself is too large: drop it down to what is needed.
      slots = needSlots;
      cap = needLen;
    }
    this.relayout(slots, cap);
  }

  /**
   * New buffers of `slots` × `cap`, sequences packed into the lowest slots in their current order. One layer at a
   * time, so at most one layer's buffers exist twice.
   */
  private relayout(slots: number, cap: number): void {
    const D = this.headDim;
    const order = [...this.seqs.values()].sort((a, b) => a.slot - b.slot);
    const oldCap = this.cap;
    for (let l = 0; l < this.numLayers; l++) {
      for (const which of [this.keys, this.values]) {
        const old = which[l];
        const fresh = allocAct(this.kvType, slots * this.kvHeads * cap * D);
        if (old) {
          order.forEach((s, to) => {
            for (let h = 0; h < this.kvHeads; h++) {
              const src = (s.slot * this.kvHeads + h) * oldCap * D;
              fresh.set(old.subarray(src, src + s.length * D) as never, (to * this.kvHeads + h) * cap * D);
            }
          });
        }
        which[l] = fresh;
      }
    }
    order.forEach((s, to) => (s.slot = to));
    this.slotCount = slots;
    this.cap = cap;
  }

  private freeSlot(): number {
    const used = new Set([...this.seqs.values()].map((s) => s.slot));
    for (let i = 0; i < this.slotCount; i++) if (!used.has(i)) return i;
    throw new Error('no free KV slot (resize first)');
  }

  /** Moves the batch's sequences into one contiguous run of slots (swapping rows with others if needed). */
  private window(ids: string[]): SlotWindow {
    const entries = ids.map((id) => this.seqs.get(id)!);
    const lo = Math.min(...entries.map((e) => e.slot));
    const B = entries.length;
    if (Math.max(...entries.map((e) => e.slot)) - lo + 1 > B) {
      const taken = new Set(entries.map((e) => e.slot));
      const spots: number[] = [];
      for (let i = lo; i < lo + B; i++) if (!taken.has(i)) spots.push(i);
      for (const e of entries) if (e.slot >= lo + B) this.swap(e.slot, spots.shift()!);
    }
    return { lo, rows: B, rowOf: entries.map((e) => e.slot - lo) };
  }

  private swap(a: number, b: number): void {
    const n = this.slotSize;
    const tmp = allocAct(this.kvType, n);
    for (const which of [this.keys, this.values]) {
      for (const buf of which) {
        tmp.set(buf.subarray(a * n, (a + 1) * n) as never);
        buf.copyWithin(a * n, b * n, (b + 1) * n);
        buf.set(tmp as never, b * n);
      }
    }
    for (const s of this.seqs.values()) {
      if (s.slot === a) s.slot = b;
      else if (s.slot === b) s.slot = a;
    }
  }
}
