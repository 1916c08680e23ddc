/**
 * A minimal WebAssembly binary writer: just the instructions our SIMD resampling kernels use. Writing the module
 * from TypeScript keeps the kernels as reviewable source, with no toolchain and no committed binary.
 */

export const I32 = 0x7f;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof V128;

function u32(out: number[], n: number): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function s32(out: number[], n: number): void {
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

function name(out: number[], s: string): void {
  const bytes = Buffer.from(s, 'utf8');
  u32(out, bytes.length);
  out.push(...bytes);
}

/** SIMD opcodes (0xFD prefix) from the WebAssembly SIMD binary encoding. */
export const SIMD = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  i32x4Splat: 0x11,
  i8x16NarrowI16x8U: 0x66,
  i16x8NarrowI32x4S: 0x85,
  i16x8ExtendLowI8x16U: 0x89,
  i16x8ExtendHighI8x16U: 0x8a,
  i32x4ExtendLowI16x8U: 0xa9,
  i32x4ExtendHighI16x8U: 0xaa,
  i32x4ShrS: 0xac,
  i32x4Add: 0xae,
  i32x4Mul: 0xb5,
  load32Zero: 0x5c,
  store32Lane: 0x5a,
  i8x16Shuffle: 0x0d,
  f32x4Sub: 0xe5,
  f32x4Div: 0xe7,
  f32x4ConvertI32x4U: 0xfb,
} as const;

/** Builds one function body. Methods append instructions in stack-machine order and return `this`. */
export class FunctionBuilder {
  private readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[] = [],
  ) {}

  /** Declares a local and returns its index (parameters come first). */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  get(i: number): this {
    return this.op(0x20).idx(i);
  }
  set(i: number): this {
    return this.op(0x21).idx(i);
  }
  tee(i: number): this {
    return this.op(0x22).idx(i);
  }
  i32(n: number): this {
    this.code.push(0x41);
    s32(this.code, n);
    return this;
  }
  add(): this {
    return this.op(0x6a);
  }
  sub(): this {
    return this.op(0x6b);
  }
  mul(): this {
    return this.op(0x6c);
  }
  ltU(): this {
    return this.op(0x49);
  }
  /** i32.load with a 4-byte-aligned memarg. */
  load(offset = 0): this {
    return this.op(0x28).mem(2, offset);
  }

  /** `local += delta` for i32 locals. */
  inc(i: number, delta: number): this {
    return this.get(i).i32(delta).add().set(i);
  }
  /** `local += other` for i32 locals. */
  incBy(i: number, other: number): this {
    return this.get(i).get(other).add().set(i);
  }

  /** A while loop: `cond` leaves an i32 on the stack; the body runs while it is non-zero (possibly never). */
  whileLoop(cond: () => void, body: () => void): this {
    this.code.push(0x02, 0x40, 0x03, 0x40);
    cond();
    this.code.push(0x45, 0x0d, 0x01); // i32.eqz; br_if 1 leaves the block
    body();
    this.code.push(0x0c, 0x00, 0x0b, 0x0b); // br 0 repeats the loop; end loop; end block
    return this;
  }

  /** A do-while loop: the body runs, then `cond` leaves an i32 on the stack and the loop repeats while non-zero. */
  doWhile(body: () => void, cond: () => void): this {
    this.code.push(0x03, 0x40);
    body();
    cond();
    this.code.push(0x0d, 0x00, 0x0b);
    return this;
  }

  simd(op: number, ...imm: number[]): this {
    this.code.push(0xfd);
    u32(this.code, op);
    this.code.push(...imm);
    return this;
  }
  v128Load(offset = 0): this {
    this.simd(SIMD.load);
    return this.mem(0, offset);
  }
  v128Store(offset = 0): this {
    this.simd(SIMD.store);
    return this.mem(0, offset);
  }
  v128Load32Zero(offset = 0): this {
    this.simd(SIMD.load32Zero);
    return this.mem(0, offset);
  }
  v128Store32Lane(lane: number, offset = 0): this {
    this.simd(SIMD.store32Lane);
    this.mem(0, offset);
    this.code.push(lane);
    return this;
  }
  i32x4Const(v: number): this {
    this.simd(SIMD.const);
    const b = Buffer.alloc(16);
    for (let i = 0; i < 4; i++) b.writeInt32LE(v, i * 4);
    this.code.push(...b);
    return this;
  }

  f32x4Const(v: number): this {
    this.simd(SIMD.const);
    const b = Buffer.alloc(16);
    for (let i = 0; i < 4; i++) b.writeFloatLE(v, i * 4);
    this.code.push(...b);
    return this;
  }
  /** i8x16.shuffle of the two vectors on the stack; lanes 0–15 pick from the first, 16–31 from the second. */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new Error('i8x16.shuffle takes 16 lane indices');
    return this.simd(SIMD.i8x16Shuffle, ...lanes);
  }

  encode(): number[] {
    const body: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    u32(body, groups.length);
    for (const [count, type] of groups) {
      u32(body, count);
      body.push(type);
    }
    body.push(...this.code, 0x0b);
    const out: number[] = [];
    u32(out, body.length);
    out.push(...body);
    return out;
  }

  private op(byte: number): this {
    this.code.push(byte);
    return this;
  }
  private idx(i: number): this {
    u32(this.code, i);
    return this;
  }
  private mem(alignLog2: number, offset: number): this {
    u32(this.code, alignLog2);
    u32(this.code, offset);
    return this;
  }
}

function section(out: number[], id: number, content: number[]): void {
  out.push(id);
  u32(out, content.length);
  out.push(...content);
}

/** A module importing `env.memory` and exporting the given functions. */
export function assembleModule(functions: Record<string, FunctionBuilder>): Uint8Array {
  const entries = Object.entries(functions);
  const types: number[] = [];
  u32(types, entries.length);
  for (const [, f] of entries) {
    types.push(0x60);
    u32(types, f.params.length);
    types.push(...f.params);
    u32(types, f.results.length);
    types.push(...f.results);
  }
  const imports: number[] = [];
  u32(imports, 1);
  name(imports, 'env');
  name(imports, 'memory');
  imports.push(0x02, 0x00, 0x01); // memory, limits without maximum, at least one page
  const funcs: number[] = [];
  u32(funcs, entries.length);
  entries.forEach((_, i) => u32(funcs, i));
  const exports: number[] = [];
  u32(exports, entries.length);
  entries.forEach(([n], i) => {
    name(exports, n);
    exports.push(0x00);
    u32(exports, i);
  });
  const code: number[] = [];
  u32(code, entries.length);
  for (const [, f] of entries) code.push(...f.encode());

  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  section(out, 1, types);
  section(out, 2, imports);
  section(out, 3, funcs);
  section(out, 7, exports);
  section(out, 10, code);
  return Uint8Array.from(out);
}
