import { GraphBuilder } from '@ivl/onnx-graph';
import { BundleManifest, TensorRef } from '../manifest';

/**
 * Binds bundle tensors into a graph as external initializers (each at most once) and emits linear layers in the
 * form the bundle stores them: MatMul on a dense [K, N] weight, or MatMulNBits on block-quantised weights.
 */
export class WeightBinder {
  private readonly bound = new Set<string>();

  constructor(readonly g: GraphBuilder, readonly manifest: BundleManifest) {}

  ref(name: string): TensorRef {
    const r = this.manifest.tensors[name];
    if (!r) throw new Error(`bundle has no tensor ${name}`);
    return r;
  }

  has(name: string): boolean {
    return Boolean(this.manifest.tensors[name]);
  }

  tensor(name: string): string {
    if (!this.bound.has(name)) {
      const r = this.ref(name);
      this.g.initializer(name, r.type, r.dims, { kind: 'external', location: r.file, offset: r.offset, length: r.length });
      this.bound.add(name);
    }
    return name;
  }

  /** x · W (+ bias) for the linear layer stored under `name`. */
  linear(x: string, name: string, bias?: string): string {
    let y: string;
    if (this.has(`${name}.weight`)) {
      y = this.g.op('MatMul', [x, this.tensor(`${name}.weight`)]);
    } else {
      const q = this.ref(`${name}.q`).quant!;
      y = this.g.ms('MatMulNBits', [x, this.tensor(`${name}.q`), this.tensor(`${name}.scales`)], {
        K: q.K,
        N: q.N,
        bits: q.bits,
        block_size: q.blockSize,
        // Level 4 quantises activations to int8 on the fly: the fast CPU path (onnxruntime-node.md §5.2).
        accuracy_level: 4,
      })[0];
    }
    return bias ? this.g.op('Add', [y, this.tensor(bias)]) : y;
  }
}
