import { closeSync, fstatSync, openSync, readSync, writeSync, fsyncSync, renameSync, rmSync } from 'node:fs';
import { DTYPE_BYTES, DType, isDType, numel } from './dtype';
import { tempPathFor } from './atomic-file';

/** One tensor inside a .safetensors file; `begin` is an absolute file offset. */
export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  file: string;
  begin: number;
  length: number;
}

export interface SafetensorsHeader {
  file: string;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Size of the 8-byte length plus the JSON header: tensor data starts here. */
  dataStart: number;
}

export class SafetensorsError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

const MAX_HEADER = 100 * 1024 * 1024;

export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new SafetensorsError(file, `truncated safetensors file: ${size} bytes, smaller than the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (n > MAX_HEADER) throw new SafetensorsError(file, `corrupt safetensors file: header length ${n} is implausible`);
    if (8 + n > size) throw new SafetensorsError(file, `truncated safetensors file: header declares ${n} bytes but the file has ${size - 8}`);
    const hdr = Buffer.alloc(n);
    readSync(fd, hdr, 0, n, 8);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(hdr.toString('utf8'));
    } catch {
      throw new SafetensorsError(file, 'corrupt safetensors file: the header is not valid JSON');
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new SafetensorsError(file, 'corrupt safetensors file: the header is not a JSON object');
    const dataStart = 8 + n;
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    const spans: Array<[number, number, string]> = [];
    for (const [name, raw] of Object.entries(json)) {
      if (name === '__metadata__') {
        metadata = (raw ?? {}) as Record<string, string>;
        continue;
      }
      const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof e?.dtype !== 'string' || !isDType(e.dtype)) throw new SafetensorsError(file, `tensor ${name}: unsupported dtype ${String(e?.dtype)} (supported: F32, F16, BF16, I64, I32, U8, I8)`);
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsError(file, `tensor ${name}: bad shape ${JSON.stringify(e.shape)}`);
      const offs = e.data_offsets;
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[1] < offs[0]) {
        throw new SafetensorsError(file, `tensor ${name}: bad data_offsets ${JSON.stringify(offs)}`);
      }
      const shape = e.shape as number[];
      const want = numel(shape) * DTYPE_BYTES[e.dtype];
      if (offs[1] - offs[0] !== want) throw new SafetensorsError(file, `tensor ${name}: data_offsets span ${offs[1] - offs[0]} bytes but ${e.dtype}${JSON.stringify(shape)} needs ${want}`);
      tensors.set(name, { name, dtype: e.dtype, shape, file, begin: dataStart + offs[0], length: want });
      spans.push([offs[0], offs[1], name]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    let end = 0;
    for (const [b, e, name] of spans) {
      if (b < end) throw new SafetensorsError(file, `corrupt safetensors file: tensor ${name} overlaps the previous tensor`);
      end = e;
    }
    if (dataStart + end > size) {
      throw new SafetensorsError(file, `truncated safetensors file: the header declares ${end} bytes of tensor data but only ${size - dataStart} are present`);
    }
    return { file, tensors, metadata, dataStart };
  } finally {
    closeSync(fd);
  }
}

/** Reads one tensor's raw bytes (little-endian, as stored). */
export function readTensorBytes(info: TensorInfo): Uint8Array {
  const buf = Buffer.allocUnsafe(info.length);
  const fd = openSync(info.file, 'r');
  try {
    let done = 0;
    while (done < info.length) {
      const n = readSync(fd, buf, done, Math.min(info.length - done, 1 << 30), info.begin + done);
      if (n === 0) throw new SafetensorsError(info.file, `truncated safetensors file: tensor ${info.name} ends early`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
}

/**
 * Streams tensors into a .safetensors file in the declared order, so multi-GB checkpoints never sit in memory.
 * The file appears under its final name only after `close()`.
 */
export class SafetensorsWriter {
  private fd: number;
  private readonly tmp: string;
  private next = 0;
  private partial = 0;
  private pos: number;
  private readonly sizes: number[];

  constructor(private readonly path: string, private readonly entries: TensorEntry[], metadata: Record<string, string> = {}) {
    const header: Record<string, unknown> = {};
    if (Object.keys(metadata).length) header.__metadata__ = metadata;
    let off = 0;
    this.sizes = entries.map((e) => numel(e.shape) * DTYPE_BYTES[e.dtype]);
    entries.forEach((e, i) => {
      header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + this.sizes[i]] };
      off += this.sizes[i];
    });
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const hdr = Buffer.from(json, 'utf8');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hdr.length));
    this.tmp = tempPathFor(path);
    this.fd = openSync(this.tmp, 'w');
    writeSync(this.fd, len);
    writeSync(this.fd, hdr);
    this.pos = 8 + hdr.length;
  }

  /** Total bytes of tensor data the file will hold. */
  get dataBytes(): number {
    return this.sizes.reduce((a, b) => a + b, 0);
  }

  write(name: string, bytes: Uint8Array): void {
    if (this.partial !== 0) throw new Error(`safetensors writer: ${this.entries[this.next].name} is only partly written`);
    if (bytes.byteLength !== this.sizes[this.next]) throw new Error(`safetensors writer: ${name} has ${bytes.byteLength} bytes, expected ${this.sizes[this.next]}`);
    this.writeChunk(name, bytes);
  }

  /** Appends part of the current tensor's bytes; the tensor is complete once all its bytes arrived. */
  writeChunk(name: string, bytes: Uint8Array): void {
    const e = this.entries[this.next];
    if (!e || e.name !== name) throw new Error(`safetensors writer: expected ${e?.name ?? 'no more tensors'}, got ${name}`);
    if (this.partial + bytes.byteLength > this.sizes[this.next]) throw new Error(`safetensors writer: too many bytes for ${name}`);
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(this.fd, bytes, done, bytes.byteLength - done, this.pos + done);
    this.pos += bytes.byteLength;
    this.partial += bytes.byteLength;
    if (this.partial === this.sizes[this.next]) {
      this.partial = 0;
      this.next++;
    }
  }

  close(): void {
    if (this.next !== this.entries.length) {
      this.abort();
      throw new Error(`safetensors writer: only ${this.next} of ${this.entries.length} tensors were written to ${this.path}`);
    }
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    rmSync(this.tmp, { force: true });
  }
}
