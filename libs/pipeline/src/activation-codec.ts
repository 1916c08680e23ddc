import type { ActArray, SeqChunk } from '@ivl/runtime';
import { ActivationBatchMsg, DTypeName } from './messages';

/** A whole activation batch as a stage sees it, after reassembly. */
export interface ActivationBatch {
  batchId: string;
  spans: SeqChunk[];
  /** [rows, hidden] values; absent when `error` is set. */
  data?: ActArray;
  hidden: number;
  trace: Record<string, string>;
  error?: string;
  forwardMs: Record<number, number>;
  sentAtMs: number;
  /** Bytes on the wire (for hop metrics). */
  wireBytes: number;
}

export class MalformedBatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedBatchError';
  }
}

/** Default chunk: 1 MiB keeps messages well under gRPC limits and lets flow control interleave streams. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/** Splits a batch into wire messages of at most `chunkBytes` of data each (raw little-endian values). */
export function encodeBatch(b: ActivationBatch, chunkBytes = DEFAULT_CHUNK_BYTES): ActivationBatchMsg[] {
  const rows = b.spans.reduce((a, s) => a + s.length, 0);
  const base = {
    batch_id: b.batchId,
    spans: b.spans.map((s) => ({ seq: s.seq, start: s.start, length: s.length })),
    trace: b.trace,
    error: b.error ?? '',
    forward_ms: b.forwardMs,
    sent_at_ms: b.sentAtMs,
  };
  if (!b.data) return [{ ...base, dtype: 'DTYPE_UNSPECIFIED', shape: [rows, b.hidden], data: Buffer.alloc(0), chunk_index: 0, chunk_count: 1 }];
  const dtype: DTypeName = b.data instanceof Float32Array ? 'FLOAT32' : 'FLOAT16';
  const bytes = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  const count = Math.max(1, Math.ceil(bytes.length / chunkBytes));
  const out: ActivationBatchMsg[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ ...base, dtype, shape: [rows, b.hidden], data: bytes.subarray(i * chunkBytes, (i + 1) * chunkBytes), chunk_index: i, chunk_count: count });
  }
  return out;
}

/**
 * Reassembles the chunks of one batch at a time from a stream (chunks of a batch arrive in order on one stream),
 * checking every field so a malformed message is rejected with a reason instead of corrupting a KV cache.
 */
export class BatchAssembler {
  private current?: { first: ActivationBatchMsg; parts: Buffer[]; next: number };

  constructor(private readonly hidden: number, private readonly expectDType?: DTypeName) {}

  /** Returns the completed batch, or undefined while chunks are outstanding. */
  push(m: ActivationBatchMsg): ActivationBatch | undefined {
    if (!m.batch_id) throw new MalformedBatchError('batch_id is empty');
    const count = m.chunk_count || 1;
    if (m.chunk_index >= count) throw new MalformedBatchError(`batch ${m.batch_id}: chunk ${m.chunk_index} of ${count}`);
    if (!this.current || this.current.first.batch_id !== m.batch_id) {
      if (this.current) {
        const lost = this.current.first.batch_id;
        this.current = undefined;
        throw new MalformedBatchError(`batch ${lost} was interrupted by batch ${m.batch_id} before all its chunks arrived`);
      }
      if (m.chunk_index !== 0) throw new MalformedBatchError(`batch ${m.batch_id} starts at chunk ${m.chunk_index}`);
      this.current = { first: m, parts: [], next: 0 };
    }
    const cur = this.current;
    if (m.chunk_index !== cur.next) {
      this.current = undefined;
      throw new MalformedBatchError(`batch ${m.batch_id}: chunk ${m.chunk_index} arrived, expected ${cur.next}`);
    }
    cur.parts.push(m.data);
    cur.next++;
    if (cur.next < count) return undefined;
    this.current = undefined;
    return this.finish(cur.first, Buffer.concat(cur.parts));
  }

  private finish(m: ActivationBatchMsg, data: Buffer): ActivationBatch {
    const spans = m.spans.map((s) => ({ seq: s.seq, start: s.start, length: s.length }));
    if (!spans.length) throw new MalformedBatchError(`batch ${m.batch_id} names no sequences`);
    for (const s of spans) {
      if (!s.seq) throw new MalformedBatchError(`batch ${m.batch_id}: a span has no sequence id`);
      if (!(s.length > 0)) throw new MalformedBatchError(`batch ${m.batch_id}: sequence ${s.seq} has length ${s.length}`);
    }
    const rows = spans.reduce((a, s) => a + s.length, 0);
    const base = { batchId: m.batch_id, spans, hidden: this.hidden, trace: m.trace ?? {}, forwardMs: { ...(m.forward_ms ?? {}) }, sentAtMs: m.sent_at_ms ?? 0, wireBytes: data.length };
    if (m.error) return { ...base, error: m.error };
    if (m.shape.length !== 2 || m.shape[0] !== rows || m.shape[1] !== this.hidden) {
      throw new MalformedBatchError(`batch ${m.batch_id}: shape [${m.shape.join(', ')}] does not match ${rows} rows × hidden ${this.hidden}`);
    }
    if (m.dtype !== 'FLOAT32' && m.dtype !== 'FLOAT16') throw new MalformedBatchError(`batch ${m.batch_id}: unsupported dtype ${m.dtype}`);
    if (this.expectDType && m.dtype !== this.expectDType) throw new MalformedBatchError(`batch ${m.batch_id}: dtype ${m.dtype}, this stage runs ${this.expectDType}`);
    const width = m.dtype === 'FLOAT32' ? 4 : 2;
    if (data.length !== rows * this.hidden * width) throw new MalformedBatchError(`batch ${m.batch_id}: ${data.length} bytes of data, expected ${rows * this.hidden * width}`);
    // Copy into a fresh, aligned buffer the batch owns (it is transferred to the onnxruntime thread).
    const ab = new ArrayBuffer(data.length);
    new Uint8Array(ab).set(data);
    return { ...base, data: m.dtype === 'FLOAT32' ? new Float32Array(ab) : new Uint16Array(ab) };
  }
}
