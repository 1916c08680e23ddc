import * as ort from 'onnxruntime-node';
import { BundleManifest, ensureGraph } from '@ivl/compiler';
import { ActArray, ActType, actTensor, allocAct } from './activations';
import { SeqChunk, SlotKvCache, SlotKvOptions } from './slot-kv-cache';
import { SessionOptions, createSession } from './session-factory';

export interface LayerRangeOptions extends SessionOptions, SlotKvOptions {
  kvBudgetBytes?: number;
  /** Element type of the KV cache; 'float16' halves it for fp32-activation bundles (default: the activations'). */
  kvType?: ActType;
}

/**
 * Runs decoder layers [from, to) for batches of sequence chunks over a slot KV cache kept in place. The decode rows
 * of a step (one token each) run as one pass over a contiguous window of slots; each prefill chunk riding in the
 * same step runs as a pass of its own. Per step only the hidden rows and the new positions' keys and values cross the binding.
 */
export class LayerRangeRunner {
  lastRunMs = 0;

  private constructor(
    readonly from: number,
    readonly to: number,
    private readonly session: ort.InferenceSession,
    readonly provider: 'cpu' | 'cuda',
    readonly kv: SlotKvCache,
    private readonly hidden: number,
    readonly actType: ActType,
  ) {}

  static async create(bundleDir: string, m: BundleManifest, from: number, to: number, opts: LayerRangeOptions = {}): Promise<LayerRangeRunner> {
    const l = m.config.llm;
    const kvType = opts.kvType ?? m.activationType;
    const path = ensureGraph(bundleDir, m, { kind: 'layers', from, to, ...(kvType !== m.activationType ? { kv: kvType } : {}) });
    const { session, provider } = await createSession(path, opts);
    const kv = new SlotKvCache(kvType, to - from, l.numKvHeads, l.headDim, opts.kvBudgetBytes ?? 4 * 1024 ** 3, opts);
    return new LayerRangeRunner(from, to, session, provider, kv, l.hiddenSize, m.activationType);
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
    try {
      if (chunks.every((c) => c.length === 1)) return await this.step(hidden, chunks);
      // A mixed step: all decode rows in one pass, then each prefill chunk in its own.
      const H = this.hidden;
      const out = allocAct(this.actType, hidden.length);
      const offsets: number[] = [];
      chunks.reduce((row, c) => (offsets.push(row), row + c.length), 0);
      const decode = chunks.map((c, i) => i).filter((i) => chunks[i].length === 1);
      if (decode.length) {
        const x = allocAct(this.actType, decode.length * H);
        decode.forEach((i, j) => x.set(hidden.subarray(offsets[i] * H, (offsets[i] + 1) * H) as never, j * H));
        const y = await this.step(x, decode.map((i) => chunks[i]));
        decode.forEach((i, j) => out.set(y.subarray(j * H, (j + 1) * H) as never, offsets[i] * H));
      }
      for (const [i, c] of chunks.entries()) {
        if (c.length === 1) continue;
        const part = hidden.subarray(offsets[i] * H, (offsets[i] + c.length) * H);
        out.set((await this.step(part, [c])) as never, offsets[i] * H);
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

  /** One pass for chunks of equal length S, one per sequence, over their window of slots. */
  private async step(hidden: ActArray, chunks: SeqChunk[]): Promise<ActArray> {
    const S = chunks[0].length;
    const H = this.hidden;
    const win = this.kv.prepare(chunks);
    const inOrder = win.rowOf.every((r, i) => r === i);
    let x = hidden;
    if (!inOrder) {
      x = allocAct(this.actType, hidden.length);
      win.rowOf.forEach((r, i) => x.set(hidden.subarray(i * S * H, (i + 1) * S * H) as never, r * S * H));
    }
    const pastLen = new BigInt64Array(win.rows);
    chunks.forEach((c, i) => (pastLen[win.rowOf[i]] = BigInt(c.start)));
    const feeds: Record<string, ort.Tensor> = {
      hidden: actTensor(this.actType, x, [win.rows, S, H]),
      past_len: new ort.Tensor('int64', pastLen, [win.rows]),
    };
    const n = this.kv.slotSize;
    const dims = [win.rows, this.kv.kvHeads, this.kv.capacity, this.kv.headDim];
    for (let i = 0; i < this.numLayers; i++) {
      const l = this.from + i;
      feeds[`past_key.${l}`] = actTensor(this.kv.kvType, this.kv.keys[i].subarray(win.lo * n, (win.lo + win.rows) * n), dims);
      feeds[`past_value.${l}`] = actTensor(this.kv.kvType, this.kv.values[i].subarray(win.lo * n, (win.lo + win.rows) * n), dims);
    }
    const out = await this.session.run(feeds);
    for (let i = 0; i < this.numLayers; i++) {
      const k = out[`new_key.${this.from + i}`].data as ActArray;
      const v = out[`new_value.${this.from + i}`].data as ActArray;
      chunks.forEach((c, j) => this.kv.write(i, c.seq, c.start, S, win.rowOf[j], k, v));
    }
    chunks.forEach((c) => this.kv.commit(c.seq, c.start + S));
    const y = out.hidden_out.data as ActArray;
    if (inOrder) return y;
    const back = allocAct(this.actType, y.length);
    win.rowOf.forEach((r, i) => back.set(y.subarray(r * S * H, (r + 1) * S * H) as never, i * S * H));
    return back;
  }
}

