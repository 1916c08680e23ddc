import * as ort from 'onnxruntime-node';
import { BundleManifest, ensureGraph } from '@ivl/compiler';
import { ActArray, ActType, actTensor, allocAct } from './activations';
import { KvStore, UnknownSequenceError } from './kv-store';
import { SessionOptions, createSession } from './session-factory';

/** Rows of one sequence inside an activation batch: `length` tokens at positions start..start+length-1. */
export interface SeqChunk {
  seq: string;
  start: number;
  length: number;
}

/**
 * Runs decoder layers [from, to) for batches of sequence chunks, keeping each sequence's KV cache. Decode steps of
 * many sequences (one token each) run as one batched pass with right-padded past (GQA reads each row's length
 * from seqlens_k); prefill chunks run one sequence at a time.
 */
export class LayerRangeRunner {
  lastRunMs = 0;

  private constructor(
    readonly from: number,
    readonly to: number,
    private readonly session: ort.InferenceSession,
    readonly provider: 'cpu' | 'cuda',
    readonly kv: KvStore,
    private readonly hidden: number,
    readonly actType: ActType,
  ) {}

  static async create(bundleDir: string, m: BundleManifest, from: number, to: number, opts: SessionOptions & { kvBudgetBytes?: number } = {}): Promise<LayerRangeRunner> {
    const l = m.config.llm;
    const path = ensureGraph(bundleDir, m, { kind: 'layers', from, to });
    const { session, provider } = await createSession(path, opts);
    const kv = new KvStore(m.activationType, to - from, l.numKvHeads, l.headDim, opts.kvBudgetBytes ?? 4 * 1024 ** 3);
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
    const t0 = performance.now();
    try {
      if (chunks.length > 1 && chunks.every((c) => c.length === 1)) return await this.decodeBatch(hidden, chunks);
      const out = allocAct(this.actType, hidden.length);
      let row = 0;
      for (const c of chunks) {
        const part = hidden.subarray(row * this.hidden, (row + c.length) * this.hidden);
        out.set(await this.runOne(part, c) as never, row * this.hidden);
        row += c.length;
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

  private kvDims(batch: number, len: number): number[] {
    return [batch, this.kv.kvHeads, len, this.kv.headDim];
  }

  private async runOne(hidden: ActArray, c: SeqChunk): Promise<ActArray> {
    const s = this.kv.prepare(c.seq, c.start, c.length);
    const feeds: Record<string, ort.Tensor> = {
      hidden: actTensor(this.actType, hidden, [1, c.length, this.hidden]),
      seqlens_k: new ort.Tensor('int32', Int32Array.of(c.start + c.length - 1), [1]),
      total_seq_len: new ort.Tensor('int32', Int32Array.of(c.start + c.length), []),
    };
    const empty = allocAct(this.actType, 0);
    for (let i = 0; i < this.numLayers; i++) {
      const l = this.from + i;
      feeds[`past_key.${l}`] = actTensor(this.actType, s.keys[i] ?? empty, this.kvDims(1, s.length));
      feeds[`past_value.${l}`] = actTensor(this.actType, s.values[i] ?? empty, this.kvDims(1, s.length));
    }
    const out = await this.session.run(feeds);
    const keys: ActArray[] = [];
    const values: ActArray[] = [];
    for (let i = 0; i < this.numLayers; i++) {
      keys.push(out[`present_key.${this.from + i}`].data as ActArray);
      values.push(out[`present_value.${this.from + i}`].data as ActArray);
    }
    this.kv.commit(c.seq, s, keys, values, c.start + c.length);
    return out.hidden_out.data as ActArray;
  }

  private async decodeBatch(hidden: ActArray, chunks: SeqChunk[]): Promise<ActArray> {
    const B = chunks.length;
    const states = chunks.map((c) => this.kv.prepare(c.seq, c.start, 1));
    const P = Math.max(...states.map((s) => s.length));
    const Hkv = this.kv.kvHeads;
    const D = this.kv.headDim;
    const feeds: Record<string, ort.Tensor> = {
      hidden: actTensor(this.actType, hidden, [B, 1, this.hidden]),
      seqlens_k: new ort.Tensor('int32', Int32Array.from(states.map((s) => s.length)), [B]),
      total_seq_len: new ort.Tensor('int32', Int32Array.of(P + 1), []),
    };
    for (let i = 0; i < this.numLayers; i++) {
      const l = this.from + i;
      const k = allocAct(this.actType, B * Hkv * P * D);
      const v = allocAct(this.actType, B * Hkv * P * D);
      states.forEach((s, b) => {
        if (!s.length) return;
        for (let h = 0; h < Hkv; h++) {
          const src = h * s.length * D;
          const dst = (b * Hkv + h) * P * D;
          k.set(s.keys[i].subarray(src, src + s.length * D) as never, dst);
          v.set(s.values[i].subarray(src, src + s.length * D) as never, dst);
        }
      });
      feeds[`past_key.${l}`] = actTensor(this.actType, k, this.kvDims(B, P));
      feeds[`past_value.${l}`] = actTensor(this.actType, v, this.kvDims(B, P));
    }
    const out = await this.session.run(feeds);
    const T = P + 1;
    states.forEach((s, b) => {
      const n = s.length + 1;
      const keys: ActArray[] = [];
      const values: ActArray[] = [];
      for (let i = 0; i < this.numLayers; i++) {
        const pk = out[`present_key.${this.from + i}`].data as ActArray;
        const pv = out[`present_value.${this.from + i}`].data as ActArray;
        const k = allocAct(this.actType, Hkv * n * D);
        const v = allocAct(this.actType, Hkv * n * D);
        for (let h = 0; h < Hkv; h++) {
          const src = (b * Hkv + h) * T * D;
          k.set(pk.subarray(src, src + n * D) as never, h * n * D);
          v.set(pv.subarray(src, src + n * D) as never, h * n * D);
        }
        keys.push(k);
        values.push(v);
      }
      this.kv.commit(chunks[b].seq, s, keys, values, n);
    });
    return out.hidden_out.data as ActArray;
  }
}

export { UnknownSequenceError };
