import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { keys } from './keys';

/**
 * Media bytes stored once under their SHA-256 with a TTL: job data stays small, a retried job finds its images,
 * and the same image sent twice is stored (and could be encoded) once.
 */
export class BlobStore {
  constructor(private readonly redis: Redis, private readonly ttlSeconds = 24 * 3600) {}

  async put(bytes: Uint8Array): Promise<string> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    await this.redis.set(keys.blob(hash), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'EX', this.ttlSeconds);
    return hash;
  }

  async get(hash: string): Promise<Uint8Array> {
    const b = await this.redis.getBuffer(keys.blob(hash));
    if (!b) throw new Error(`media blob ${hash.slice(0, 12)}… has expired or was never stored`);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
}
