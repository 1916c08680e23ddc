import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '@ivl/onnx-graph';
import { Rng } from '@ivl/tensor';
import { dequantize, quantizeBlockwise } from './quantize';

function matmulNBits(x: Float32Array, M: number, K: number, N: number, bits: 4 | 8, bs: number, q: ReturnType<typeof quantizeBlockwise>) {
  const g = new GraphBuilder('q');
  const a = g.input('a', 'float32', [M, K]);
  const B = g.initializer('B', 'uint8', [N, q.kBlocks, (bs * bits) / 8], { kind: 'inline', bytes: q.packed });
  const S = g.initializer('S', 'float32', [N * q.kBlocks], { kind: 'inline', bytes: new Uint8Array(q.scales.buffer) });
  g.output(g.ms('MatMulNBits', [a, B, S], { K, N, bits, block_size: bs, accuracy_level: 0 })[0], 'y', 'float32', [M, N]);
  return ort.InferenceSession.create(Buffer.from(g.toModel())).then((s) => s.run({ a: new ort.Tensor('float32', x, [M, K]) })).then((o) => o.y.data as Float32Array);
}

describe.each<[4 | 8, number, number]>([
  [4, 32, 200],
  [4, 128, 200],
  [8, 32, 96],
])('block quantisation: %i bits, block %i, K = %i (a partial last block)', (bits, bs, K) => {
  const N = 24;
  const w = new Rng(bits * 1000 + bs).fillNormal(new Float32Array(N * K), 0, 0.05);
  const q = quantizeBlockwise(w, N, K, bits, bs);

  it('dequantised weights stay within half a step of the originals', () => {
    const d = dequantize(q, N, K, bits, bs);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const step = q.scales[n * q.kBlocks + Math.floor(k / bs)];
        expect(Math.abs(d[n * K + k] - w[n * K + k])).toBeLessThanOrEqual(step / 2 + 1e-7);
      }
    }
  });

  it("onnxruntime's MatMulNBits reads our layout: it equals x · dequant(W)ᵀ", async () => {
    const M = 3;
    const x = new Rng(7).fillNormal(new Float32Array(M * K));
    const y = await matmulNBits(x, M, K, N, bits, bs, q);
    const d = dequantize(q, N, K, bits, bs);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let ref = 0;
        for (let k = 0; k < K; k++) ref += x[m * K + k] * d[n * K + k];
        expect(Math.abs(y[m * N + n] - ref)).toBeLessThan(1e-4);
      }
    }
  });
});
