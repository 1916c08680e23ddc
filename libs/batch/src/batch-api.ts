import { z } from 'zod';
import { badRequest, notFound, parseBody, tooLarge } from '@ivl/openai-api';
import { BATCH_ENDPOINT, parseBatchInput } from './batch-input';
import { type BatchObject, BatchStore, FINAL_STATUSES } from './batch-store';
import { type FileObject, FilesStore } from './files-store';

export const CreateBatchSchema = z.object({
  input_file_id: z.string().min(1),
  endpoint: z.string(),
  completion_window: z.string(),
  metadata: z.record(z.string(), z.string().max(512)).nullable().optional(),
});

/** OpenAI accepts only 24h; so do we (the window bounds how long results are kept waiting, not a promise). */
const COMPLETION_WINDOWS: Record<string, number> = { '24h': 24 * 3600 };

export interface BatchApiLimits {
  maxFileBytes: number;
  maxBatchLines: number;
}

/** The Files and Batches endpoints' logic, independent of HTTP. Every call is scoped to the caller (`owner`). */
export class BatchApi {
  constructor(
    readonly files: FilesStore,
    readonly batches: BatchStore,
    private readonly limits: BatchApiLimits,
  ) {}

  async uploadFile(f: { filename: string; data: Buffer; purpose: unknown }, owner: string): Promise<FileObject> {
    if (f.purpose !== 'batch') {
      throw badRequest('invalid_value', `purpose ${JSON.stringify(f.purpose ?? null)} is not supported; only "batch" files can be uploaded`, 'purpose');
    }
    if (f.data.length > this.limits.maxFileBytes) {
      throw tooLarge('file_too_large', `the file is ${f.data.length} bytes, above the limit of ${this.limits.maxFileBytes}`, 'file');
    }
    parseBatchInput(f.data.toString('utf8'), this.limits.maxBatchLines);
    return this.files.create({ filename: f.filename || 'upload.jsonl', purpose: 'batch', data: f.data, owner });
  }

  async file(id: string, owner: string): Promise<FileObject> {
    const f = await this.files.get(id, owner);
    if (!f) throw notFound('file_not_found', `No such File object: ${id}`, 'file_id');
    return f;
  }

  async fileContent(id: string, owner: string): Promise<Buffer> {
    const b = await this.files.content(id, owner);
    if (!b) throw notFound('file_not_found', `No such File object: ${id}`, 'file_id');
    return b;
  }

  async deleteFile(id: string, owner: string) {
    if (!(await this.files.delete(id, owner))) throw notFound('file_not_found', `No such File object: ${id}`, 'file_id');
    return { id, object: 'file', deleted: true };
  }

  async createBatch(body: unknown, owner: string): Promise<BatchObject> {
    const r = parseBody(CreateBatchSchema, body);
    if (r.endpoint !== BATCH_ENDPOINT) throw badRequest('invalid_value', `endpoint must be "${BATCH_ENDPOINT}"`, 'endpoint');
    const window = COMPLETION_WINDOWS[r.completion_window];
    if (!window) throw badRequest('invalid_value', 'completion_window must be "24h"', 'completion_window');
    if (r.metadata && Object.keys(r.metadata).length > 16) throw badRequest('invalid_value', 'metadata holds at most 16 pairs', 'metadata');
    const f = await this.files.get(r.input_file_id, owner);
    if (!f) throw notFound('file_not_found', `No such File object: ${r.input_file_id}`, 'input_file_id');
    if (f.purpose !== 'batch') throw badRequest('invalid_value', `file ${f.id} has purpose ${f.purpose}, not batch`, 'input_file_id');
    return this.batches.create({ inputFileId: f.id, endpoint: r.endpoint, completionWindow: r.completion_window, completionWindowSeconds: window, metadata: r.metadata ?? null, owner });
  }

  async batch(id: string, owner: string): Promise<BatchObject> {
    const b = await this.batches.get(id, owner);
    if (!b) throw notFound('batch_not_found', `No such Batch object: ${id}`, 'batch_id');
    return b;
  }

  /** Cancelling a batch that already ended returns it unchanged (cancel is idempotent). */
  async cancelBatch(id: string, owner: string): Promise<BatchObject> {
    const b = await this.batch(id, owner);
    if (!FINAL_STATUSES.includes(b.status)) {
      await this.batches.transition(id, ['validating', 'in_progress'], 'cancelling', { cancelling_at: Math.floor(Date.now() / 1000) });
    }
    return this.batch(id, owner);
  }

  async listBatches(owner: string, limit: number, after?: string) {
    const data = await this.batches.list(owner, limit + 1, after);
    const page = data.slice(0, limit);
    return { object: 'list', data: page, first_id: page[0]?.id ?? null, last_id: page[page.length - 1]?.id ?? null, has_more: data.length > limit };
  }
}
