import { closeSync, mkdirSync, openSync, writeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import type { ElemType } from '@ivl/onnx-graph';
import { f32ToF16 } from '@ivl/tensor';
import { QuantInfo, TensorRef } from './manifest';
import { quantizeBlockwise } from './quantize';

const ALIGN = 64;

/** How a linear layer's weight is stored: dense in the activation type, or block-quantised for MatMulNBits. */
export type LinearStorage = { kind: 'dense'; type: 'float32' | 'float16' } | { kind: 'nbits'; bits: 4 | 8; blockSize: number };

/**
 * Appends converted tensors to the bundle's weight files and records where each one lives. Offsets are aligned
 * so that mmapped weights start on cache-line boundaries.
 */
export class WeightSink {
  readonly tensors: Record<string, TensorRef> = {};
  private fd = -1;
  private file = '';
  private pos = 0;
  /** Bytes written to all weight files so far, padding included. */
  bytesWritten = 0;

  constructor(private readonly root: string) {
    mkdirSync(join(root, 'weights'), { recursive: true });
  }

  open(file: string): void {
    this.close();
    this.file = `weights/${file}`;
    this.fd = openSync(join(this.root, this.file), 'w');
    this.pos = 0;
  }

  close(): void {
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  add(name: string, type: ElemType, dims: number[], bytes: Uint8Array, quant?: QuantInfo): void {
    if (this.fd < 0) throw new Error('weight sink: no file open');
    if (this.tensors[name]) throw new Error(`weight sink: ${name} written twice`);
    const pad = (ALIGN - (this.pos % ALIGN)) % ALIGN;
    if (pad) {
      writeSync(this.fd, new Uint8Array(pad), 0, pad, this.pos);
      this.pos += pad;
      this.bytesWritten += pad;
    }
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(this.fd, bytes, done, bytes.byteLength - done, this.pos + done);
    this.tensors[name] = { file: this.file, offset: this.pos, length: bytes.byteLength, type, dims, ...(quant ? { quant } : {}) };
    this.pos += bytes.byteLength;
    this.bytesWritten += bytes.byteLength;
  }

  /** Stores fp32 values as float32 or float16. */
  addFloat(name: string, type: 'float32' | 'float16', dims: number[], values: Float32Array): void {
    const bytes = type === 'float32' ? new Uint8Array(values.buffer, values.byteOffset, values.byteLength) : u8(f32ToF16(values));
    this.add(name, type, dims, bytes);
  }

  /** Stores a PyTorch-layout weight W [N, K] for `y = x·Wᵀ`: transposed to [K, N], or quantised as-is. */
  addLinear(name: string, w: Float32Array, N: number, K: number, storage: LinearStorage, scaleType: 'float32' | 'float16'): void {
    if (storage.kind === 'dense') {
      const t = new Float32Array(K * N);
      for (let n = 0; n < N; n++) {
        const row = n * K;
        for (let k = 0; k < K; k++) t[k * N + n] = w[row + k];
      }
      this.addFloat(`${name}.weight`, storage.type, [K, N], t);
      return;
    }
    const { bits, blockSize } = storage;
    const q = quantizeBlockwise(w, N, K, bits, blockSize);
    this.add(`${name}.q`, 'uint8', [N, q.kBlocks, (blockSize * bits) / 8], q.packed, { bits, blockSize, K, N });
    this.addFloat(`${name}.scales`, scaleType, [N * q.kBlocks], q.scales);
  }
}

function u8(a: Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
