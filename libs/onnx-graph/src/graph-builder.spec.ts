import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, floatAttr } from './graph-builder';

describe('GraphBuilder', () => {
  it('produces a model onnxruntime runs, with inline and external initializers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-'));
    // external weight file with a 3-byte prefix: offsets need no alignment
    const w = new Float32Array([1, 2, 3, 4, 5, 6]);
    writeFileSync(join(dir, 'w.bin'), Buffer.concat([Buffer.from([9, 9, 9]), Buffer.from(w.buffer)]));
    const g = new GraphBuilder('t');
    const x = g.input('x', 'float32', ['n', 2]);
    const W = g.initializer('W', 'float32', [2, 3], { kind: 'external', location: 'w.bin', offset: 3, length: 24 });
    const b = g.constFloat([0.5, 0.5, 0.5]);
    const y = g.op('Add', [g.op('MatMul', [x, W]), b]);
    const z = g.op('LayerNormalization', [y, g.constFloat([1, 1, 1]), g.constFloat([0, 0, 0])], { axis: -1, epsilon: floatAttr(1e-5) });
    g.output(y, 'y', 'float32', ['n', 3]);
    g.output(z, 'z', 'float32', ['n', 3]);
    writeFileSync(join(dir, 'm.onnx'), g.toModel());
    const s = await ort.InferenceSession.create(join(dir, 'm.onnx'));
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 0, 2]), [2, 2]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([5.5, 7.5, 9.5, 8.5, 10.5, 12.5]);
    const zz = out.z.data as Float32Array;
    expect(zz[0]).toBeCloseTo(-1.2247, 3);
    expect(zz[1]).toBeCloseTo(0, 5);
  });

  it('refuses a value name used twice', () => {
    const g = new GraphBuilder('t');
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow(/used twice/);
  });
});
