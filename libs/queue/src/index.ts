export * from './job-schema';
export * from './keys';
export * from './blob-store';
export * from './token-stream';
export * from './generate-client';
