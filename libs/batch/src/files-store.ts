import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export type FilePurpose = 'batch' | 'batch_output';

/** OpenAI's file object. */
export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: FilePurpose;
  status: 'processed';
  expires_at: number | null;
  status_details: null;
}

export const newFileId = () => `file-${randomBytes(12).toString('hex')}`;

/**
 * Files of the Files API, kept in Redis so every gateway replica serves them and they outlive restarts. Each file
 * belongs to the API key that created it (`owner`); other keys get 404, as if it did not exist.
 */
export class FilesStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  private metaKey = (id: string) => `${this.ns}:file:${id}`;
  private dataKey = (id: string) => `${this.ns}:file:${id}:data`;
  private indexKey = () => `${this.ns}:files`;

  /** `id` may be given to make a write idempotent (batch output files are re-written after a crash, never doubled). */
  async create(f: { filename: string; purpose: FilePurpose; data: Buffer; owner: string; id?: string }): Promise<FileObject> {
    const id = f.id ?? newFileId();
    const obj: FileObject = {
      id,
      object: 'file',
      bytes: f.data.length,
      created_at: Math.floor(Date.now() / 1000),
      filename: f.filename,
      purpose: f.purpose,
      status: 'processed',
      expires_at: null,
      status_details: null,
    };
    await this.redis
      .multi()
      .set(this.dataKey(id), f.data)
      .hset(this.metaKey(id), 'json', JSON.stringify(obj), 'owner', f.owner)
      .zadd(this.indexKey(), Date.now(), id)
      .exec();
    return obj;
  }

  async get(id: string, owner: string): Promise<FileObject | undefined> {
    const [json, who] = await this.redis.hmget(this.metaKey(id), 'json', 'owner');
    if (!json || who !== owner) return undefined;
    return JSON.parse(json) as FileObject;
  }

  async content(id: string, owner: string): Promise<Buffer | undefined> {
    if (!(await this.get(id, owner))) return undefined;
    return (await this.redis.getBuffer(this.dataKey(id))) ?? undefined;
  }

  /** Newest first, as OpenAI lists them. */
  async list(owner: string, opts: { purpose?: string; limit?: number } = {}): Promise<FileObject[]> {
    const ids = await this.redis.zrevrange(this.indexKey(), 0, -1);
    const out: FileObject[] = [];
    for (const id of ids) {
      const f = await this.get(id, owner);
      if (f && (!opts.purpose || f.purpose === opts.purpose)) out.push(f);
      if (out.length >= (opts.limit ?? 10_000)) break;
    }
    return out;
  }

  async delete(id: string, owner: string): Promise<boolean> {
    if (!(await this.get(id, owner))) return false;
    await this.redis.multi().del(this.metaKey(id), this.dataKey(id)).zrem(this.indexKey(), id).exec();
    return true;
  }
}
