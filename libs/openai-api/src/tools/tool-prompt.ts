import { DEFAULT_SYSTEM_MESSAGE } from '@ivl/prompt';
import { badRequest } from '../errors';
import type { ToolDefinition } from '../schemas/chat-request';

/**
 * Qwen2.5's tool-use prompt, as its chat template renders it: the function signatures inside <tools></tools> at the
 * end of the system message (after InternVL's own default system message when the request has none), and the
 * instruction to answer with <tool_call>{"name": …, "arguments": …}</tool_call>.
 */
export function toolSystemPrompt(system: string | undefined, tools: readonly ToolDefinition[]): string {
  const lines = tools.map((t) => pyJson({ type: 'function', function: stripNulls(t.function) }));
  return [
    `${system ?? DEFAULT_SYSTEM_MESSAGE}\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n`,
    'You are provided with function signatures within <tools></tools> XML tags:\n<tools>',
    ...lines,
    '</tools>\n',
    'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:',
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>',
  ].join('\n');
}

/** A `tool` message as the user turn Qwen2.5's template makes of it. */
export function toolResponseText(content: string): string {
  return `<tool_response>\n${content}\n</tool_response>`;
}

/** An assistant message with tool_calls as the text the model would have produced. */
export function assistantToolCallText(content: string, calls: ReadonlyArray<{ function: { name: string; arguments: string } }>, param: string): string {
  const blocks = calls.map((c, i) => {
    let args: unknown;
    try {
      args = JSON.parse(c.function.arguments || '{}');
    } catch {
      throw badRequest('invalid_value', `tool call arguments must be a JSON string (${c.function.name})`, `${param}[${i}].function.arguments`);
    }
    return `<tool_call>\n${pyJson({ name: c.function.name, arguments: args })}\n</tool_call>`;
  });
  return [content, ...blocks].filter((s) => s !== '').join('\n');
}

/** JSON as Jinja's `tojson` (Python's json.dumps) writes it: ", " and ": " separators, non-ASCII kept. */
export function pyJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(pyJson).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .map(([k, x]) => `${JSON.stringify(k)}: ${pyJson(x)}`)
    .join(', ')}}`;
}

function stripNulls<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}
