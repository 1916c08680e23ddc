import { createHash } from 'node:crypto';

/**
 * What a sequence's output must match, as carried in a queue job. Schemas travel as JSON text so that the hash (the
 * compile-cache key) is the same in the gateway, which validates, and in the worker, which generates.
 */
export type GrammarSpec =
  /** Any JSON object (OpenAI's JSON mode). */
  | { type: 'json_object' }
  /** JSON valid against a schema; `strict` forbids properties and items the schema does not name. */
  | { type: 'json_schema'; schema: string; strict: boolean }
  /** An xgrammar structural tag (JSON text): tool calls wrapped in the model's tags, free text between them. */
  | { type: 'structural_tag'; tag: string };

export function grammarKey(spec: GrammarSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
}

export class GrammarError extends Error {
  override readonly name = 'GrammarError';
}
