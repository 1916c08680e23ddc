import { randomBytes } from 'node:crypto';

/** The Redis the test run uses (started by the global setup when the machine has none). */
export function testRedisUrl(): string {
  return process.env.IVL_TEST_REDIS ?? 'redis://127.0.0.1:6379';
}

/** A BullMQ key prefix of its own per test, so parallel tests never consume each other's jobs. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}`;
}
