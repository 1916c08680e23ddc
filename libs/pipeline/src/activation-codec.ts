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

/**
 * Bounds on what a peer may make a stage hold for one batch. Every size on the wire is checked against them before
 * anything is kept, so a corrupt or hostile peer gets an error, not an allocation of its choosing.
 */
export interface WireLimits {
  /** Largest batch (rows × hidden × dtype width) in bytes. */
  maxBatchBytes: number;
  /** Most sequence spans in one batch. */
  maxSpans: number;
  /** Longest sequence id / batch id. */
  maxIdLength: number;
  /** Most trace-context entries. */
  maxTraceEntries: number;
}

export const DEFAULT_WIRE_LIMITS: WireLimits = { maxBatchBytes: 512 * 1024 * 1024, maxSpans: 4096, maxIdLength: 256, maxTraceEntries: 16 };

/** Default chunk: 1 MiB keeps messages well under gRPC limits and lets flow control interleave streams. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/** Splits a batch into wire messages of at most `chunkBytes` of data each (raw little-endian values). */
export function encodeBatch(b: ActivationBatch, chunkBytes = DEFAULT_CHUNK_BYTES): ActivationBatchMsg[] {
  const rows = b.spans.reduce((a, s) => a + s.length, 0);
  const base = {
    batch_id: b.batchId,
    spans: b.spans.map((s) => ({ seq: s.seq, start: s.start, length: s.length, from_seq: s.from ?? '' })),
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
  private current?: { first: ActivationBatchMsg; parts: Buffer[]; next: number; bytes: number; expected: number };
  private readonly limits: WireLimits;

  constructor(private readonly hidden: number, private readonly expectDType?: DTypeName, limits: Partial<WireLimits> = {}) {
    this.limits = { ...DEFAULT_WIRE_LIMITS, ...limits };
  }

  /** Returns the completed batch, or undefined while chunks are outstanding. */
  push(m: ActivationBatchMsg): ActivationBatch | undefined {
    if (!m.batch_id) throw new MalformedBatchError('batch_id is empty');
    if (m.batch_id.length > this.limits.maxIdLength) throw new MalformedBatchError(`batch_id is ${m.batch_id.length} characters (limit ${this.limits.maxIdLength})`);
    const count = m.chunk_count || 1;
    if (!Number.isInteger(count) || count < 1) throw new MalformedBatchError(`batch ${m.batch_id}: chunk_count ${m.chunk_count}`);
    if (m.chunk_index >= count) throw new MalformedBatchError(`batch ${m.batch_id}: chunk ${m.chunk_index} of ${count}`);
    if (!this.current || this.current.first.batch_id !== m.batch_id) {
      if (this.current) {
        const lost = this.current.first.batch_id;
        this.current = undefined;
        throw new MalformedBatchError(`batch ${lost} was interrupted by batch ${m.batch_id} before all its chunks arrived`);
      }
      if (m.chunk_index !== 0) throw new MalformedBatchError(`batch ${m.batch_id} starts at chunk ${m.chunk_index}`);
      this.current = { first: m, parts: [], next: 0, bytes: 0, expected: this.expectedBytes(m, count) };
    }
    const cur = this.current;
    if (m.chunk_index !== cur.next || (m.chunk_count || 1) !== (cur.first.chunk_count || 1)) {
      this.current = undefined;
      throw new MalformedBatchError(`batch ${m.batch_id}: chunk ${m.chunk_index} of ${m.chunk_count || 1} arrived, expected ${cur.next} of ${cur.first.chunk_count || 1}`);
    }
    cur.bytes += m.data.length;
    if (cur.bytes > cur.expected) {
      this.current = undefined;
      throw new MalformedBatchError(`batch ${m.batch_id}: more data than its shape announces (${cur.expected} bytes)`);
    }
    cur.parts.push(m.data);
    cur.next++;
    if (cur.next < count) return undefined;
    this.current = undefined;
    return this.finish(cur.first, Buffer.concat(cur.parts));
  }

  /** The byte size the first chunk announces, checked against the limits before any data is kept. */
  private expectedBytes(m: ActivationBatchMsg, count: number): number {
    const L = this.limits;
    if ((m.spans?.length ?? 0) > L.maxSpans) throw new MalformedBatchError(`batch ${m.batch_id}: ${m.spans.length} spans (limit ${L.maxSpans})`);
    if (Object.keys(m.trace ?? {}).length > L.maxTraceEntries) throw new MalformedBatchError(`batch ${m.batch_id}: ${Object.keys(m.trace).length} trace entries (limit ${L.maxTraceEntries})`);
    for (const sp of m.spans ?? []) {
      if ((sp.seq?.length ?? 0) > L.maxIdLength) throw new MalformedBatchError(`batch ${m.batch_id}: a sequence id of ${sp.seq.length} characters (limit ${L.maxIdLength})`);
      if ((sp.from_seq?.length ?? 0) > L.maxIdLength) throw new MalformedBatchError(`batch ${m.batch_id}: a prefix source id of ${sp.from_seq!.length} characters (limit ${L.maxIdLength})`);
    }
    if (m.error) {
      if (count !== 1) throw new MalformedBatchError(`batch ${m.batch_id}: an error batch in ${count} chunks`);
      return m.data.length;
    }
    const rows = m.shape?.[0] ?? 0;
    const width = m.dtype === 'FLOAT16' ? 2 : 4;
    const bytes = rows * (m.shape?.[1] ?? 0) * width;
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > L.maxBatchBytes) {
      throw new MalformedBatchError(`batch ${m.batch_id}: shape [${(m.shape ?? []).join(', ')}] is ${bytes} bytes (limit ${L.maxBatchBytes})`);
    }
    if (count > Math.max(1, bytes)) throw new MalformedBatchError(`batch ${m.batch_id}: ${count} chunks for ${bytes} bytes`);
    return bytes;
  }

  private finish(m: ActivationBatchMsg, data: Buffer): ActivationBatch {
    const spans: SeqChunk[] = m.spans.map((s) => ({ seq: s.seq, start: s.start, length: s.length, ...(s.from_seq ? { from: s.from_seq } : {}) }));
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
