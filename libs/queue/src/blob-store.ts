import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { keys } from './keys';

// Each job that stores a blob holds one reference; the last job to end deletes the bytes. The TTL stays as the
// safety net for a job that never ends (deleted from Redis by hand, a producer that died between put and add).
const PUT = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1`;
const RELEASE = `
local n = redis.call('DECR', KEYS[2])
if n <= 0 then redis.call('DEL', KEYS[1], KEYS[2]) return 1 end
return 0`;

/**
 * Media bytes stored once under their SHA-256: job data stays small, a retried job finds its images, and the same
 * image sent twice is stored once. Blobs are reference-counted per job and deleted when the last job using them
 * ends (completed, failed for good, or cancelled), so Redis memory follows the work in flight, not the last 24 h.
 */
export class BlobStore {
  constructor(private readonly redis: Redis, private readonly ttlSeconds = 24 * 3600) {}

  async put(bytes: Uint8Array): Promise<string> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    await this.redis.eval(PUT, 2, keys.blob(hash), keys.blobRefs(hash), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), String(this.ttlSeconds));
    return hash;
  }

  async get(hash: string): Promise<Uint8Array> {
    const b = await this.redis.getBuffer(keys.blob(hash));
    if (!b) throw new Error(`media blob ${hash.slice(0, 12)}… has expired or was never stored`);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Drops one job's reference to each blob; returns how many blobs were deleted. */
  async release(hashes: string[]): Promise<number> {
    let deleted = 0;
    for (const h of hashes) deleted += Number(await this.redis.eval(RELEASE, 2, keys.blob(h), keys.blobRefs(h)));
    return deleted;
  }
}

/** The blobs a job's data refers to (its images and video). */
export function jobBlobs(data: { input: { images?: Array<{ blob: string }>; video?: { blob: string } } }): string[] {
  return [...(data.input.images ?? []).map((i) => i.blob), ...(data.input.video ? [data.input.video.blob] : [])];
}
