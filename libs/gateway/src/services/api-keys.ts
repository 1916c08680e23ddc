import { createHash } from 'node:crypto';
import { unauthorized } from '@ivl/openai-api';
import type { Principal } from '@ivl/client-grpc';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Everyone is this principal when no key is configured (local use). */
export const LOCAL_PRINCIPAL: Principal = { id: 'local' };

/**
 * Bearer API keys. Only their SHA-256 digests are kept in memory and used as principal ids (files, batches, jobs
 * and rate limits belong to a key), so no key ever lands in Redis or in a log.
 */
export class ApiKeys {
  private readonly digests: Set<string>;

  constructor(keys: readonly string[]) {
    this.digests = new Set(keys.filter(Boolean).map(sha256));
  }

  get enabled(): boolean {
    return this.digests.size > 0;
  }

  authenticate(authorization: string | undefined): Principal {
    if (!this.enabled) return LOCAL_PRINCIPAL;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) {
      throw unauthorized("You didn't provide an API key. Provide it in the Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY).");
    }
    const digest = sha256(m[1]);
    if (!this.digests.has(digest)) throw unauthorized('Incorrect API key provided.');
    return { id: `key-${digest.slice(0, 24)}` };
  }
}
