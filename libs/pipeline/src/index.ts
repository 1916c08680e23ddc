export * from './protos';
export * from './messages';
export * from './activation-codec';
export * from './stage-server';
export * from './ring-link';
export * from './stage-client';
