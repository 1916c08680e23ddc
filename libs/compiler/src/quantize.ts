/**
 * Symmetric block-wise weight-only quantisation in onnxruntime's MatMulNBits layout (onnxruntime-node.md §5.2):
 * B is uint8 [N, kBlocks, blockSize·bits/8] with 4-bit values packed low nibble first, one scale per
 * (row, block), and the implicit zero point 2^(bits-1). A partial last block is padded with the zero point.
 */
export interface Quantized {
  packed: Uint8Array;
  scales: Float32Array;
  kBlocks: number;
}

export function quantizeBlockwise(w: Float32Array, N: number, K: number, bits: 4 | 8, blockSize: number): Quantized {
  if (w.length !== N * K) throw new Error(`quantize: weight has ${w.length} values, expected ${N}×${K}`);
  const kBlocks = Math.ceil(K / blockSize);
  const blockBytes = (blockSize * bits) / 8;
  const packed = new Uint8Array(N * kBlocks * blockBytes);
  const scales = new Float32Array(N * kBlocks);
  const zp = 1 << (bits - 1);
  const qmax = zp - 1;
  const q = new Uint8Array(blockSize);
  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let kb = 0; kb < kBlocks; kb++) {
      const k0 = kb * blockSize;
      const k1 = Math.min(K, k0 + blockSize);
      let amax = 0;
      for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(w[row + k]));
      const scale = amax > 0 ? amax / qmax : 1;
      scales[n * kBlocks + kb] = scale;
      const inv = 1 / scale;
      q.fill(zp);
      for (let k = k0; k < k1; k++) {
        const v = Math.round(w[row + k] * inv);
        q[k - k0] = Math.max(-qmax, Math.min(qmax, v)) + zp;
      }
      const dst = (n * kBlocks + kb) * blockBytes;
      if (bits === 8) packed.set(q, dst);
      else for (let i = 0; i < blockSize; i += 2) packed[dst + i / 2] = q[i] | (q[i + 1] << 4);
    }
  }
  return { packed, scales, kBlocks };
}

/** The weights MatMulNBits will use, [N, K], for error analysis and tests. */
export function dequantize(qz: Quantized, N: number, K: number, bits: 4 | 8, blockSize: number): Float32Array {
  const out = new Float32Array(N * K);
  const blockBytes = (blockSize * bits) / 8;
  const zp = 1 << (bits - 1);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const kb = Math.floor(k / blockSize);
      const i = k % blockSize;
      const base = (n * qz.kBlocks + kb) * blockBytes;
      const v = bits === 8 ? qz.packed[base + i] : (qz.packed[base + (i >> 1)] >> ((i & 1) * 4)) & 15;
      out[n * K + k] = (v - zp) * qz.scales[n * qz.kBlocks + kb];
    }
  }
  return out;
}
