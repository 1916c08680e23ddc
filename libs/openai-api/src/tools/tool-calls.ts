import { randomBytes } from 'node:crypto';
import { TOOL_CALL_CLOSE, TOOL_CALL_OPEN } from './tool-grammar';

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

const callId = () => `call_${randomBytes(12).toString('hex')}`;

/** One `<tool_call>` block's JSON as an OpenAI tool call (arguments as a JSON string), or undefined if it is not one. */
function toCall(body: string): ToolCall | undefined {
  try {
    const v = JSON.parse(body.trim()) as { name?: unknown; arguments?: unknown };
    if (typeof v.name !== 'string') return undefined;
    return { id: callId(), type: 'function', function: { name: v.name, arguments: JSON.stringify(v.arguments ?? {}) } };
  } catch {
    return undefined;
  }
}

/** Splits a finished answer into its text and its tool calls (blocks that do not parse stay in the text). */
export function parseToolCalls(text: string): { content: string | null; calls: ToolCall[] } {
  const calls: ToolCall[] = [];
  const s = new ToolCallStream();
  let content = '';
  for (const e of [...s.push(text), ...s.flush()]) {
    if (e.kind === 'text') content += e.text;
    else calls.push(e.call);
  }
  content = content.trim();
  return { content: content === '' && calls.length ? null : content, calls };
}

export type ToolStreamEvent = { kind: 'text'; text: string } | { kind: 'call'; call: ToolCall };

/**
 * Streaming split of an answer into text and tool calls: text is passed on at once except for a tail that might
 * be the start of `<tool_call>`; a call is held until its `</tool_call>` and then emitted whole.
 */
export class ToolCallStream {
  private buf = '';
  private inCall = false;

  push(delta: string): ToolStreamEvent[] {
    this.buf += delta;
    const out: ToolStreamEvent[] = [];
    for (;;) {
      if (this.inCall) {
        const end = this.buf.indexOf(TOOL_CALL_CLOSE);
        if (end < 0) return out;
        const body = this.buf.slice(0, end);
        this.buf = this.buf.slice(end + TOOL_CALL_CLOSE.length).replace(/^\n/, '');
        this.inCall = false;
        const call = toCall(body);
        out.push(call ? { kind: 'call', call } : { kind: 'text', text: TOOL_CALL_OPEN + body + TOOL_CALL_CLOSE });
        continue;
      }
      const start = this.buf.indexOf(TOOL_CALL_OPEN);
      if (start >= 0) {
        if (start > 0) out.push({ kind: 'text', text: this.buf.slice(0, start) });
        this.buf = this.buf.slice(start + TOOL_CALL_OPEN.length);
        this.inCall = true;
        continue;
      }
      const keep = partialPrefix(this.buf, TOOL_CALL_OPEN);
      if (this.buf.length > keep) out.push({ kind: 'text', text: this.buf.slice(0, this.buf.length - keep) });
      this.buf = this.buf.slice(this.buf.length - keep);
      return out;
    }
  }

  /** The end of the answer: an unterminated call (cut by max_tokens) is returned as text. */
  flush(): ToolStreamEvent[] {
    const text = (this.inCall ? TOOL_CALL_OPEN : '') + this.buf;
    this.buf = '';
    this.inCall = false;
    return text ? [{ kind: 'text', text }] : [];
  }
}

/** Length of the longest suffix of `s` that is a proper prefix of `tag`. */
function partialPrefix(s: string, tag: string): number {
  for (let n = Math.min(s.length, tag.length - 1); n > 0; n--) if (s.endsWith(tag.slice(0, n))) return n;
  return 0;
}
