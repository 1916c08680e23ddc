import type { Checkpoint } from '@ivl/checkpoint';

/** Checkpoint tensors widened to fp32 on first use and kept: the reference reads every weight many times. */
export class WeightCache {
  private readonly w = new Map<string, Float32Array>();

  constructor(readonly ckpt: Checkpoint) {}

  get(name: string): Float32Array {
    let t = this.w.get(name);
    if (!t) {
      t = this.ckpt.readF32(name);
      this.w.set(name, t);
    }
    return t;
  }
}
