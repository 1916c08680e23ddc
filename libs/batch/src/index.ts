// The OpenAI Files and Batch APIs over the queue: files and batch state in Redis, a processor that turns each
// JSONL line into a job and assembles output and error files, safe with several gateways.
export * from './files-store';
export * from './batch-store';
export * from './batch-input';
export * from './batch-lines';
export * from './batch-api';
export * from './batch-processor';
export { RedisLease } from './redis-lock';
