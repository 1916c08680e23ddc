/** Assembles and compiles the SIMD kernels once per process; instances are cheap and made per arena. */
import { tileChwKernel } from './normalize-kernel';
import { horizontalKernel, verticalKernel } from './resample-kernels';
import { WasmMemory, WasmModule, wasmApi } from './wasm-api';
import { assembleModule } from './wasm-assembler';

export interface Kernels {
  hpass(
    src: number,
    srcStride: number,
    rows: number,
    dst: number,
    outW: number,
    startPtr: number,
    countPtr: number,
    weightPtr: number,
    weightStride: number,
  ): void;
  vpass(
    src: number,
    rowLen: number,
    dst: number,
    outH: number,
    startPtr: number,
    countPtr: number,
    weightPtr: number,
    weightStride: number,
  ): void;
  tile_chw(src: number, srcStride: number, dst: number, size: number): void;
}

let compiled: WasmModule | null | undefined;

/** Null where the runtime lacks WebAssembly SIMD; callers then use the scalar TypeScript path. */
export function kernelModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = assembleModule({ hpass: horizontalKernel(), vpass: verticalKernel(), tile_chw: tileChwKernel() });
    compiled = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
  }
  return compiled;
}

export function instantiateKernels(mod: WasmModule, memory: WasmMemory): Kernels {
  return new wasmApi!.Instance(mod, { env: { memory } }).exports as unknown as Kernels;
}
