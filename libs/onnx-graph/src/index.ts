export * from './graph-builder';
export { ONNX_TYPE, type ElemType } from './onnx-schema';
