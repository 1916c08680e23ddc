export * from './math';
export * from './vision';
export * from './language-model';
export * from './weight-cache';
