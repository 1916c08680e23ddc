import type { JobGrammar } from '@ivl/queue';
import type { ResponseFormat } from './schemas/chat-request';

/** OpenAI's response_format as the grammar the worker constrains sampling with (text: none). */
export function responseGrammar(rf: ResponseFormat | undefined): JobGrammar | undefined {
  if (!rf || rf.type === 'text') return undefined;
  if (rf.type === 'json_object') return { type: 'json_object' };
  return { type: 'json_schema', schema: JSON.stringify(rf.json_schema.schema ?? { type: 'object' }), strict: rf.json_schema.strict === true };
}
