export * from './sampling-params';
export * from './sampler';
export * from './strip-stream';
export * from './sequence-decoder';
export * from './generator';
export * from './logits-processing';
export * from './token-constraint';
