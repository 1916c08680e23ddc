export * from './models';
export * from './numeric';
