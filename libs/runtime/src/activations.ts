import * as ort from 'onnxruntime-node';

/** Hidden states and KV as they cross the runtime boundary: fp32 values, or fp16 bit patterns. */
export type ActType = 'float32' | 'float16';
export type ActArray = Float32Array | Uint16Array;

export function allocAct(type: ActType, n: number): ActArray {
  return type === 'float32' ? new Float32Array(n) : new Uint16Array(n);
}

export function actTensor(type: ActType, data: ActArray, dims: number[]): ort.Tensor {
  if ((type === 'float32') !== data instanceof Float32Array) throw new Error(`activation buffer does not match type ${type}`);
  return new ort.Tensor(type, data, dims);
}

export function actBytes(type: ActType): number {
  return type === 'float32' ? 4 : 2;
}
