import { ApiError, badRequest } from '@ivl/openai-api';

export const BATCH_ENDPOINT = '/v1/chat/completions';

/** One request line of a batch input file (OpenAI Batch API format). */
export interface BatchLine {
  custom_id: string;
  method: 'POST';
  url: string;
  body: Record<string, unknown>;
}

/**
 * Parses and checks the structure of a batch input JSONL file: every line a JSON object with a unique `custom_id`,
 * `method` POST, `url` /v1/chat/completions and a `body` object. Problems of structure are reported with their line
 * number at upload time, so an unreadable file never becomes a batch. A body that is not a valid request (a wrong
 * field, an unreachable image, a prompt too long) fails that line alone, into the error file, with the status and
 * body a live request would get: one bad line never rejects the others.
 */
export function parseBatchInput(text: string, maxLines: number): BatchLine[] {
  const lines: BatchLine[] = [];
  const seen = new Set<string>();
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const raw = rows[i].trim();
    if (!raw) continue;
    const n = i + 1;
    if (lines.length >= maxLines) throw invalid(`the file has more than ${maxLines} requests`);
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw invalid(`line ${n} is not valid JSON`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(`line ${n} is not a JSON object`);
    const o = v as Record<string, unknown>;
    if (typeof o.custom_id !== 'string' || !o.custom_id) throw invalid(`line ${n}: custom_id must be a non-empty string`);
    if (seen.has(o.custom_id)) throw invalid(`line ${n}: custom_id ${JSON.stringify(o.custom_id)} is used more than once`);
    seen.add(o.custom_id);
    if (o.method !== 'POST') throw invalid(`line ${n}: method must be "POST"`);
    if (o.url !== BATCH_ENDPOINT) throw invalid(`line ${n}: url must be "${BATCH_ENDPOINT}" (the only batch endpoint served)`);
    if (!o.body || typeof o.body !== 'object' || Array.isArray(o.body)) throw invalid(`line ${n}: body must be a JSON object`);
    const body = o.body as Record<string, unknown>;
    if (body.stream === true) throw invalid(`line ${n}: body.stream must not be true in a batch`);
    lines.push({ custom_id: o.custom_id, method: 'POST', url: o.url, body });
  }
  if (lines.length === 0) throw invalid('the file contains no requests');
  return lines;
}

function invalid(message: string): ApiError {
  return badRequest('invalid_batch_file', message, 'file');
}
