import { describe, expect, it } from 'vitest';
import { kernelModule } from './kernels';
import { wasmApi } from './wasm-api';
import { FunctionBuilder, I32, assembleModule } from './wasm-assembler';

describe('wasm assembler', () => {
  it('writes a module the engine validates and runs (loops, locals, signed constants, memory)', () => {
    // sum(n): Σ_{i<n} (i · −3), with a do-while loop, stored to memory[0] and returned.
    const f = new FunctionBuilder([I32], [I32]);
    const i = f.local(I32);
    const acc = f.local(I32);
    f.i32(0).set(i).i32(0).set(acc);
    f.whileLoop(
      () => f.get(i).get(0).ltU(),
      () => f.get(acc).get(i).i32(-3).mul().add().set(acc).inc(i, 1),
    );
    f.i32(0).get(acc).simd(0x11).v128Store(); // i32x4.splat then store all four lanes
    f.i32(0).load(4);
    const bytes = assembleModule({ sum: f });
    expect(wasmApi!.validate(bytes)).toBe(true);
    const memory = new wasmApi!.Memory({ initial: 1 });
    const inst = new wasmApi!.Instance(new wasmApi!.Module(bytes), { env: { memory } });
    const sum = (inst.exports as { sum: (n: number) => number }).sum;
    expect(sum(0)).toBe(0);
    expect(sum(100)).toBe(-3 * 4950);
    expect(Array.from(new Int32Array(memory.buffer, 0, 4))).toEqual(Array(4).fill(-3 * 4950));
  });

  it('builds the resampling and normalisation kernels into a valid SIMD module', () => {
    expect(kernelModule()).not.toBeNull();
  });
});
