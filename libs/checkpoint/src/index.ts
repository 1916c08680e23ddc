export * from './errors';
export * from './config';
export * from './tensor-names';
export * from './checkpoint';
export * from './make-model/presets';
export { makeModel, type MakeModelOptions } from './make-model/make-model';
