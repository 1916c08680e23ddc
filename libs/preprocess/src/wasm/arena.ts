/**
 * Bump allocation in a wasm memory. One arena is kept between calls: first touches of fresh memory pages cost more
 * than the kernels themselves (measured: ~10 ms of page faults for a 9-tile image), so warm pages are reused.
 */
import { Kernels, instantiateKernels } from './kernels';
import { WasmMemory, WasmModule, wasmApi } from './wasm-api';

const PAGE = 65536;
/** Kernels read and write up to 15 bytes past their buffers; every allocation gets 16 bytes of slack. */
const PAD = 16;
/** An arena that grew past this (a huge image) is dropped after the call instead of pinning its memory. */
const RETAIN_BYTES = 128 * 1024 * 1024;

export class WasmArena {
  readonly memory: WasmMemory;
  readonly kernels: Kernels;
  private top = 0;

  constructor(mod: WasmModule, expectedBytes: number) {
    this.memory = new wasmApi!.Memory({ initial: Math.max(1, Math.ceil(expectedBytes / PAGE)) });
    this.kernels = instantiateKernels(mod, this.memory);
  }

  /** 16-byte aligned. Contents are whatever a previous call left: callers initialise what they read. */
  alloc(bytes: number): number {
    const ptr = this.top;
    this.top = Math.ceil((ptr + bytes + PAD) / PAD) * PAD;
    const have = this.memory.buffer.byteLength;
    if (this.top > have) this.memory.grow(Math.ceil((this.top - have) / PAGE));
    return ptr;
  }

  /** Views must be taken after the last alloc: growing detaches earlier ones. */
  u8(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }
  i32(): Int32Array {
    return new Int32Array(this.memory.buffer);
  }

  reset(): void {
    this.top = 0;
  }
}

let spare: WasmArena | null = null;
let spareModule: WasmModule | null = null;

/** Runs `fn` with an empty arena, reusing the previous one when possible. Synchronous, so never shared. */
export function withArena<T>(mod: WasmModule, expectedBytes: number, fn: (arena: WasmArena) => T): T {
  const arena = spare && spareModule === mod ? spare : new WasmArena(mod, expectedBytes);
  spare = null;
  arena.reset();
  try {
    return fn(arena);
  } finally {
    if (arena.memory.buffer.byteLength <= RETAIN_BYTES) {
      spare = arena;
      spareModule = mod;
    }
  }
}
