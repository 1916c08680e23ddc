import { ATTR_TYPE, ElemType, ModelProto, ONNX_TYPE } from './onnx-schema';

export type Dim = number | string;

/** An attribute value; plain numbers become INT when integral, so floats that are whole need `floatAttr`. */
export type AttrValue = number | string | number[] | string[] | FloatAttr | FloatsAttr | TensorAttr;
export interface TensorAttr {
  kind: 'tensor';
  type: ElemType;
  dims: number[];
  bytes: Uint8Array;
}
/** A one-element tensor attribute (e.g. ConstantOfShape's value) of the given element type. */
export function scalarTensorAttr(type: ElemType, bytes: Uint8Array): TensorAttr {
  return { kind: 'tensor', type, dims: [1], bytes };
}
export interface FloatAttr {
  kind: 'float';
  value: number;
}
export interface FloatsAttr {
  kind: 'floats';
  value: number[];
}
export const floatAttr = (value: number): FloatAttr => ({ kind: 'float', value });
export const floatsAttr = (value: number[]): FloatsAttr => ({ kind: 'floats', value });

/** Where an initializer's bytes live: inline, or in an external file relative to the .onnx file. */
export type InitializerData =
  | { kind: 'inline'; bytes: Uint8Array }
  | { kind: 'external'; location: string; offset: number; length: number };

export interface NodeOptions {
  domain?: string;
  /** Number of outputs (default 1), or explicit names; '' marks an optional output that is not produced. */
  outputs?: number | string[];
  name?: string;
}

interface PendingNode {
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  name: string;
  attribute: unknown[];
}

/**
 * Builds one ONNX graph. Values are referred to by name; every `node` call returns the names of its outputs.
 * Weights are normally external (bundle files), so a model of several GB serialises to a few KB.
 */
export class GraphBuilder {
  private readonly nodes: PendingNode[] = [];
  private readonly inputs: unknown[] = [];
  private readonly outputs: unknown[] = [];
  private readonly initializers: unknown[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A new unused name; it is claimed by whoever defines the value (node output or initializer). */
  private fresh(hint: string): string {
    let n: string;
    do n = `${hint}_${this.counter++}`;
    while (this.names.has(n));
    return n;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: value name ${name} is used twice`);
    this.names.add(name);
    return name;
  }

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), type, shape));
    return name;
  }

  /** Declares `value` as a graph output under `name` (an Identity is inserted if the names differ). */
  output(value: string, name: string, type: ElemType, shape: Dim[]): string {
    if (value !== name) this.node('Identity', [value], {}, { outputs: [name] });
    this.outputs.push(valueInfo(name, type, shape));
    return name;
  }

  initializer(name: string, type: ElemType, dims: number[], data: InitializerData): string {
    const t: Record<string, unknown> = { name: this.claim(name), dataType: ONNX_TYPE[type], dims };
    if (data.kind === 'inline') t.rawData = data.bytes;
    else {
      t.dataLocation = 1;
      t.externalData = [
        { key: 'location', value: data.location },
        { key: 'offset', value: String(data.offset) },
        { key: 'length', value: String(data.length) },
      ];
    }
    this.initializers.push(t);
    return name;
  }

  constInt64(values: number[], dims: number[] = [values.length], hint = 'i64'): string {
    const b = new BigInt64Array(values.map((v) => BigInt(v)));
    return this.initializer(this.fresh(hint), 'int64', dims, { kind: 'inline', bytes: new Uint8Array(b.buffer) });
  }

  constFloat(values: number[], dims: number[] = [values.length], hint = 'f32'): string {
    const b = new Float32Array(values);
    return this.initializer(this.fresh(hint), 'float32', dims, { kind: 'inline', bytes: new Uint8Array(b.buffer) });
  }

  constInt32(values: number[], dims: number[] = [values.length], hint = 'i32'): string {
    const b = new Int32Array(values);
    return this.initializer(this.fresh(hint), 'int32', dims, { kind: 'inline', bytes: new Uint8Array(b.buffer) });
  }

  node(opType: string, input: string[], attrs: Record<string, AttrValue> = {}, opts: NodeOptions = {}): string[] {
    const hint = opType.toLowerCase();
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs.map((n) => (n === '' ? '' : this.claim(n)))
      : Array.from({ length: opts.outputs ?? 1 }, () => this.claim(this.fresh(hint)));
    this.nodes.push({
      opType,
      domain: opts.domain ?? '',
      input,
      output: outs,
      name: opts.name ?? this.fresh(`n_${hint}`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Single-output convenience form of `node`. */
  op(opType: string, input: string[], attrs: Record<string, AttrValue> = {}, opts: Omit<NodeOptions, 'outputs'> = {}): string {
    return this.node(opType, input, attrs, opts)[0];
  }

  ms(opType: string, input: string[], attrs: Record<string, AttrValue> = {}, outputs?: number | string[]): string[] {
    return this.node(opType, input, attrs, { domain: 'com.microsoft', outputs });
  }

  toModel(opsets: Record<string, number> = { '': 21, 'com.microsoft': 1 }, metadata: Record<string, string> = {}): Uint8Array {
    const model = {
      irVersion: 10,
      producerName: 'ivl-cluster',
      producerVersion: '0.1.0',
      graph: {
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      },
      opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version })),
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    };
    const err = ModelProto.verify(model);
    if (err) throw new Error(`graph ${this.name}: invalid ONNX model: ${err}`);
    return ModelProto.encode(ModelProto.fromObject(model)).finish();
  }
}

function valueInfo(name: string, type: ElemType, shape: Dim[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_TYPE[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue) {
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: ATTR_TYPE.INT, i: v } : { name, type: ATTR_TYPE.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: ATTR_TYPE.STRING, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { name, type: ATTR_TYPE.STRINGS, strings: (v as string[]).map((s) => Buffer.from(s)) };
    const nums = v as number[];
    return nums.every(Number.isInteger) ? { name, type: ATTR_TYPE.INTS, ints: nums } : { name, type: ATTR_TYPE.FLOATS, floats: nums };
  }
  if (v.kind === 'float') return { name, type: ATTR_TYPE.FLOAT, f: v.value };
  if (v.kind === 'tensor') return { name, type: ATTR_TYPE.TENSOR, t: { dataType: ONNX_TYPE[v.type], dims: v.dims, rawData: v.bytes } };
  return { name, type: ATTR_TYPE.FLOATS, floats: v.value };
}
