import type { JobGrammar } from '@ivl/queue';
import { badRequest } from '../errors';
import type { ToolChoice, ToolDefinition } from '../schemas/chat-request';

export const TOOL_CALL_OPEN = '<tool_call>';
export const TOOL_CALL_CLOSE = '</tool_call>';

/** The functions a request may call, after tool_choice has been checked against them. */
export interface ToolPlan {
  tools: ToolDefinition[];
  /** 'none': tools are described but never called; the answer is plain text. */
  choice: 'none' | 'auto' | 'required' | { name: string };
  grammar?: JobGrammar;
}

/**
 * tool_choice as a grammar over Qwen2.5's reply format, so that every call parses and names a real function with
 * arguments valid for its schema: `auto` lets free text run until `<tool_call>` and then constrains the call;
 * `required` allows only calls (one or more, newline-separated); a named function allows exactly one call to it.
 */
export function planTools(tools: ToolDefinition[] | undefined, choice: ToolChoice | undefined): ToolPlan | undefined {
  if (!tools?.length) {
    if (choice && choice !== 'none' && choice !== 'auto') throw badRequest('invalid_value', 'tool_choice needs tools', 'tool_choice');
    return undefined;
  }
  const names = new Set<string>();
  tools.forEach((t, i) => {
    if (names.has(t.function.name)) throw badRequest('invalid_value', `two tools are named ${t.function.name}`, `tools[${i}].function.name`);
    names.add(t.function.name);
  });
  const c = choice ?? 'auto';
  if (c === 'none') return { tools, choice: 'none' };
  if (typeof c === 'object') {
    const tool = tools.find((t) => t.function.name === c.function.name);
    if (!tool) throw badRequest('invalid_value', `tool_choice names the function ${c.function.name}, which is not among the tools (${[...names].join(', ')})`, 'tool_choice');
    return { tools, choice: { name: tool.function.name }, grammar: tag({ type: 'tags_with_separator', tags: [callTag(tool)], separator: '\n', at_least_one: true, stop_after_first: true }) };
  }
  const tags = tools.map(callTag);
  if (c === 'required') return { tools, choice: c, grammar: tag({ type: 'tags_with_separator', tags, separator: '\n', at_least_one: true }) };
  return { tools, choice: c, grammar: tag({ type: 'triggered_tags', triggers: [TOOL_CALL_OPEN], tags }) };
}

function callTag(t: ToolDefinition) {
  return {
    type: 'tag',
    begin: `${TOOL_CALL_OPEN}\n{"name": ${JSON.stringify(t.function.name)}, "arguments": `,
    content: { type: 'json_schema', json_schema: t.function.parameters ?? { type: 'object' } },
    end: `}\n${TOOL_CALL_CLOSE}`,
  };
}

const tag = (format: object): JobGrammar => ({ type: 'structural_tag', tag: JSON.stringify({ type: 'structural_tag', format }) });
