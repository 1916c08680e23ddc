import { describe, expect, it } from 'vitest';
import { ToolCallStream, parseToolCalls } from './tool-calls';
import { planTools } from './tool-grammar';
import { assistantToolCallText, pyJson, toolSystemPrompt } from './tool-prompt';

const call = '<tool_call>\n{"name": "get_time", "arguments": {"zone": "UTC"}}\n</tool_call>';

describe('parseToolCalls', () => {
  it('splits text and calls; arguments become a JSON string', () => {
    const r = parseToolCalls(`Let me check.\n${call}\n${call}`);
    expect(r.content).toBe('Let me check.');
    expect(r.calls.map((c) => [c.type, c.function.name, c.function.arguments])).toEqual([
      ['function', 'get_time', '{"zone":"UTC"}'],
      ['function', 'get_time', '{"zone":"UTC"}'],
    ]);
    expect(r.calls[0].id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(parseToolCalls(call).content).toBeNull();
  });

  it('leaves a block that does not parse, or is cut off, in the text', () => {
    expect(parseToolCalls('<tool_call>\nnot json\n</tool_call>')).toMatchObject({ content: '<tool_call>\nnot json\n</tool_call>', calls: [] });
    expect(parseToolCalls('<tool_call>\n{"name": "f", "argu')).toMatchObject({ content: '<tool_call>\n{"name": "f", "argu', calls: [] });
  });
});

describe('ToolCallStream', () => {
  it('gives the same split whatever the chunking, holding back only a possible tag start', () => {
    const text = `Hi <b>${call}tail`;
    for (const size of [1, 2, 3, 7, 100]) {
      const s = new ToolCallStream();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...s.push(text.slice(i, i + size)));
      events.push(...s.flush());
      const joined = events.filter((e) => e.kind === 'text').map((e) => (e as { text: string }).text).join('');
      expect(joined).toBe('Hi <b>tail');
      expect(events.filter((e) => e.kind === 'call')).toHaveLength(1);
    }
    const s = new ToolCallStream();
    expect(s.push('a <tool')).toEqual([{ kind: 'text', text: 'a ' }]);
  });
});

describe('Qwen2.5 tool prompt and grammar', () => {
  const tools = [{ type: 'function' as const, function: { name: 'get_time', description: 'Time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } }];

  it('renders the tools in the system prompt as the chat template does', () => {
    const p = toolSystemPrompt('Be brief.', tools);
    expect(p.startsWith('Be brief.\n\n# Tools\n\nYou may call one or more functions')).toBe(true);
    expect(p).toContain('<tools>\n{"type": "function", "function": {"name": "get_time", "description": "Time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}}\n</tools>');
    expect(p.endsWith('<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')).toBe(true);
    expect(assistantToolCallText('', [{ function: { name: 'get_time', arguments: '{"zone":"UTC"}' } }], 'x')).toBe(call);
    expect(pyJson({ a: [1, 'é'], b: null })).toBe('{"a": [1, "é"], "b": null}');
  });

  it('maps tool_choice to a structural tag, refusing an unknown function', () => {
    expect(planTools(tools, 'none')).toEqual({ tools, choice: 'none' });
    const auto = JSON.parse(planTools(tools, undefined)!.grammar!.type === 'structural_tag' ? (planTools(tools, undefined)!.grammar as { tag: string }).tag : '{}');
    expect(auto.format).toMatchObject({ type: 'triggered_tags', triggers: ['<tool_call>'] });
    const named = JSON.parse((planTools(tools, { type: 'function', function: { name: 'get_time' } })!.grammar as { tag: string }).tag);
    expect(named.format).toMatchObject({ type: 'tags_with_separator', at_least_one: true, stop_after_first: true });
    expect(() => planTools(tools, { type: 'function', function: { name: 'nope' } })).toThrow(/not among the tools/);
  });
});
