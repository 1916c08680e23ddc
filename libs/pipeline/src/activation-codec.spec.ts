import { describe, expect, it } from 'vitest';
import { ActivationBatch, BatchAssembler, encodeBatch } from './activation-codec';

const H = 8;
const batch = (rows: number, f16 = false): ActivationBatch => ({
  batchId: 'b1',
  spans: [
    { seq: 'a', start: 0, length: rows - 1 },
    { seq: 'b', start: 5, length: 1, from: 'src' },
  ],
  data: f16 ? Uint16Array.from({ length: rows * H }, (_, i) => i) : Float32Array.from({ length: rows * H }, (_, i) => i / 3),
  hidden: H,
  trace: { traceparent: '00-abc-def-01' },
  forwardMs: { 0: 1.5 },
  sentAtMs: 123,
  wireBytes: 0,
});

describe('activation codec', () => {
  it('splits a large batch into chunks and reassembles it exactly (fp32 and fp16)', () => {
    for (const f16 of [false, true]) {
      const b = batch(100, f16);
      const msgs = encodeBatch(b, 512);
      expect(msgs.length).toBe(Math.ceil(b.data!.byteLength / 512));
      const asm = new BatchAssembler(H);
      const out = msgs.map((m) => asm.push(m)).filter(Boolean);
      expect(out).toHaveLength(1);
      expect(Array.from(out[0]!.data!)).toEqual(Array.from(b.data!));
      expect(out[0]!.data!.constructor).toBe(b.data!.constructor);
      expect(out[0]!.spans).toEqual(b.spans);
      expect(out[0]!.trace).toEqual(b.trace);
      expect(out[0]!.forwardMs).toEqual({ 0: 1.5 });
    }
  });

  it('rejects malformed input with a reason and recovers for the next batch', () => {
    const asm = new BatchAssembler(H, 'FLOAT32');
    const msgs = encodeBatch(batch(100), 512);
    asm.push(msgs[0]);
    expect(() => asm.push(msgs[2])).toThrow(/chunk 2 of 7 arrived, expected 1 of 7/);
    expect(() => asm.push({ ...encodeBatch(batch(4), 1 << 20)[0], shape: [5, H] })).toThrow(/does not match 4 rows/);
    expect(() => asm.push({ ...encodeBatch(batch(4), 1 << 20)[0], spans: [] })).toThrow(/names no sequences/);
    expect(() => asm.push(encodeBatch(batch(4, true), 1 << 20)[0])).toThrow(/this stage runs FLOAT32/);
    const ok = asm.push(encodeBatch(batch(4), 1 << 20)[0]);
    expect(ok?.data?.length).toBe(4 * H);
  });

  it('carries an error batch without data', () => {
    const msgs = encodeBatch({ ...batch(3), data: undefined, error: 'stage 2: boom' });
    const b = new BatchAssembler(H).push(msgs[0])!;
    expect(b.error).toBe('stage 2: boom');
    expect(b.data).toBeUndefined();
  });

  it('bounds every size taken from the wire before keeping any data', () => {
    const asm = new BatchAssembler(H, 'FLOAT32', { maxBatchBytes: 4096, maxSpans: 8 });
    const one = encodeBatch(batch(4), 1 << 20)[0];
    // A peer announcing a huge shape, or millions of chunks for a small one, is refused at the first chunk.
    expect(() => asm.push({ ...one, shape: [1e9, H] })).toThrow(/bytes \(limit 4096\)/);
    expect(() => asm.push({ ...one, chunk_count: 1e9 })).toThrow(/1000000000 chunks for 128 bytes/);
    expect(() => asm.push({ ...one, spans: Array.from({ length: 9 }, (_, i) => ({ seq: `s${i}`, start: 0, length: 1 })) })).toThrow(/9 spans \(limit 8\)/);
    expect(() => asm.push({ ...one, batch_id: 'x'.repeat(1000) })).toThrow(/1000 characters/);
    // More data than the shape announces, spread over chunks, is cut off as soon as it exceeds it.
    const two = encodeBatch(batch(4), 64);
    expect(two).toHaveLength(2);
    asm.push(two[0]);
    expect(() => asm.push({ ...two[1], data: Buffer.alloc(4096) })).toThrow(/more data than its shape announces/);
    // A chunk that changes the batch's chunk count midway is refused.
    asm.push(two[0]);
    expect(() => asm.push({ ...two[1], chunk_count: 3 })).toThrow(/expected 1 of 2/);
    expect(asm.push(one)?.data?.length).toBe(4 * H);
  });
});
