export * from './dtype';
export * from './rng';
export * from './safetensors';
export * from './atomic-file';
