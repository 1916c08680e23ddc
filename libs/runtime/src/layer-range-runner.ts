import * as ort from 'onnxruntime-node';
import { BundleManifest, ensureGraph } from '@ivl/compiler';
import { ActArray, ActType, actTensor, allocAct } from './activations';
import { SeqChunk, SlotKvCache, SlotKvOptions } from './slot-kv-cache';
import { SessionOptions, createSession } from './session-factory';

export interface LayerRangeOptions extends SessionOptions, SlotKvOptions {
  kvBudgetBytes?: number;
  /** Element type of the KV cache; 'float16' halves it for fp32-activation bundles (default: the activations'). */
  kvType?: ActType;
  /** Run every prefill chunk in a pass of its own, apart from the decode rows (the unfused baseline for benchmarks). */
  separatePrefillPass?: boolean;
}

/**
 * Runs decoder layers [from, to) for batches of sequence chunks over a slot KV cache kept in place. The decode rows
 * of a step (one token each, over a contiguous window of slots) and the step's first prefill chunk run as one pass,
 * so a long prompt arriving costs the running answers the chunk's compute, not a second read of every weight; a
 * further chunk in the same step runs as a pass of its own. Per step only the hidden rows and the new positions'
 * keys and values cross the binding.
 */
export class LayerRangeRunner {
  lastRunMs = 0;
  /** onnxruntime runs the last `forward` took: 1 for a step of decode rows and at most one prefill chunk. */
  lastPasses = 0;

  private constructor(
    readonly from: number,
    readonly to: number,
    private readonly session: ort.InferenceSession,
    readonly provider: 'cpu' | 'cuda',
    readonly kv: SlotKvCache,
    private readonly hidden: number,
    readonly actType: ActType,
    private readonly separatePrefillPass: boolean,
  ) {}

  static async create(bundleDir: string, m: BundleManifest, from: number, to: number, opts: LayerRangeOptions = {}): Promise<LayerRangeRunner> {
    const l = m.config.llm;
    const kvType = opts.kvType ?? m.activationType;
    const path = ensureGraph(bundleDir, m, { kind: 'layers', from, to, ...(kvType !== m.activationType ? { kv: kvType } : {}) });
    const { session, provider } = await createSession(path, opts);
    const kv = new SlotKvCache(kvType, to - from, l.numKvHeads, l.headDim, opts.kvBudgetBytes ?? 4 * 1024 ** 3, opts);
    return new LayerRangeRunner(from, to, session, provider, kv, l.hiddenSize, m.activationType, opts.separatePrefillPass ?? false);
  }

  get numLayers(): number {
    return this.to - this.from;
  }

  async forward(hidden: ActArray, chunks: SeqChunk[]): Promise<ActArray> {
    const rows = chunks.reduce((a, c) => a + c.length, 0);
    if (hidden.length !== rows * this.hidden) {
      throw new RangeError(`activation has ${hidden.length} values but ${rows} rows × ${this.hidden} were declared`);
    }
    if (new Set(chunks.map((c) => c.seq)).size !== chunks.length) throw new RangeError('a sequence appears twice in one batch');
    if (chunks.some((c) => !(c.length > 0))) throw new RangeError('a chunk has no positions');
    const t0 = performance.now();
    this.lastPasses = 0;
    try {
      const H = this.hidden;
      const offsets: number[] = [];
      chunks.reduce((row, c) => (offsets.push(row), row + c.length), 0);
      const decode = chunks.map((c, i) => i).filter((i) => chunks[i].length === 1);
      const prefill = chunks.map((c, i) => i).filter((i) => chunks[i].length > 1);
      if (!prefill.length) return (await this.pass(hidden, chunks, undefined)).rows;
      const fuse = !this.separatePrefillPass;
      // A mixed step: the decode rows and the first prefill chunk share one pass (one read of the weights); any
      // further chunk runs in a pass of its own.
      const out = allocAct(this.actType, hidden.length);
      const part = (i: number) => hidden.subarray(offsets[i] * H, (offsets[i] + chunks[i].length) * H) as ActArray;
      const x = allocAct(this.actType, decode.length * H);
      decode.forEach((i, j) => x.set(part(i) as never, j * H));
      const put = (rowsOf: number[], y: ActArray) => rowsOf.forEach((i, j) => out.set(y.subarray(j * H, (j + 1) * H) as never, offsets[i] * H));
      if (!fuse && decode.length) put(decode, (await this.pass(x, decode.map((i) => chunks[i]), undefined)).rows);
      for (const [k, p] of prefill.entries()) {
        const rowsOf = fuse && k === 0 ? decode : [];
        const y = await this.pass(rowsOf.length ? x : x.subarray(0, 0), rowsOf.map((i) => chunks[i]), { chunk: chunks[p], hidden: part(p) });
        put(rowsOf, y.rows);
        out.set(y.chunk as never, offsets[p] * H);
      }
      return out;
    } finally {
      this.lastRunMs = performance.now() - t0;
    }
  }

  release(seq: string): boolean {
    return this.kv.release(seq);
  }

  /** Frees the session (its weights and arena) now rather than at garbage collection. */
  async close(): Promise<void> {
    await this.session.release();
  }

  /**
   * One pass of the layers graph: `rows` (one new position each, in order, over their window of slots) and at
   * most one prefill chunk (over its own slot). Returns each group's hidden rows in the order given.
   */
  private async pass(hidden: ActArray, rows: SeqChunk[], chunk: { chunk: SeqChunk; hidden: ActArray } | undefined): Promise<{ rows: ActArray; chunk: ActArray }> {
    const H = this.hidden;
    const win = this.kv.prepareMixed(rows, chunk?.chunk);
    const inOrder = win.rows.rowOf.every((r, i) => r === i);
    let x = hidden;
    if (!inOrder) {
      x = allocAct(this.actType, hidden.length);
      win.rows.rowOf.forEach((r, i) => x.set(hidden.subarray(i * H, (i + 1) * H) as never, r * H));
    }
    const pastLen = new BigInt64Array(win.rows.rows);
    rows.forEach((c, i) => (pastLen[win.rows.rowOf[i]] = BigInt(c.start)));
    const S = chunk?.chunk.length ?? 1;
    const feeds: Record<string, ort.Tensor> = {
      hidden: actTensor(this.actType, x, [win.rows.rows, 1, H]),
      past_len: new ort.Tensor('int64', pastLen, [win.rows.rows]),
      chunk_hidden: actTensor(this.actType, chunk?.hidden ?? allocAct(this.actType, 0), [win.chunk.rows, S, H]),
      chunk_past_len: new ort.Tensor('int64', BigInt64Array.from(chunk ? [BigInt(chunk.chunk.start)] : []), [win.chunk.rows]),
    };
    const n = this.kv.slotSize;
    const windowOf = (buf: ActArray, w: { lo: number; rows: number }) =>
      actTensor(this.kv.kvType, buf.subarray(w.lo * n, (w.lo + w.rows) * n) as ActArray, [w.rows, this.kv.kvHeads, this.kv.capacity, this.kv.headDim]);
    for (let i = 0; i < this.numLayers; i++) {
      const l = this.from + i;
      feeds[`past_key.${l}`] = windowOf(this.kv.keys[i], win.rows);
      feeds[`past_value.${l}`] = windowOf(this.kv.values[i], win.rows);
      feeds[`chunk_past_key.${l}`] = windowOf(this.kv.keys[i], win.chunk);
      feeds[`chunk_past_value.${l}`] = windowOf(this.kv.values[i], win.chunk);
    }
    const out = await this.session.run(feeds);
    this.lastPasses++;
    for (let i = 0; i < this.numLayers; i++) {
      const l = this.from + i;
      const k = out[`new_key.${l}`].data as ActArray;
      const v = out[`new_value.${l}`].data as ActArray;
      rows.forEach((c, j) => this.kv.write(i, c.seq, c.start, 1, win.rows.rowOf[j], k, v));
      if (chunk) this.kv.write(i, chunk.chunk.seq, chunk.chunk.start, S, 0, out[`chunk_new_key.${l}`].data as ActArray, out[`chunk_new_value.${l}`].data as ActArray);
    }
    rows.forEach((c) => this.kv.commit(c.seq, c.start + 1));
    if (chunk) this.kv.commit(chunk.chunk.seq, chunk.chunk.start + S);
    const y = out.hidden_out.data as ActArray;
    const chunkOut = out.chunk_hidden_out.data as ActArray;
    if (inOrder) return { rows: y, chunk: chunkOut };
    const back = allocAct(this.actType, y.length);
    win.rows.rowOf.forEach((r, i) => back.set(y.subarray(r * H, (r + 1) * H) as never, i * H));
    return { rows: back, chunk: chunkOut };
  }
}

