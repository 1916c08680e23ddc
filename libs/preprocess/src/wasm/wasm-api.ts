/**
 * The slice of the WebAssembly JS API the kernels use, typed locally: the workspace compiles against ES2023 + Node
 * types, which declare no `WebAssembly` global, and a global declaration here could clash with a DOM lib later.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export type WasmModule = object;

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
  validate(bytes: Uint8Array): boolean;
}

/** Undefined only on runtimes without WebAssembly (none of the supported Node versions). */
export const wasmApi: WasmApi | undefined = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
