export * from './plan';
export * from './card-plan';
export * from './balanced-plan';
export * from './parse-plan';
