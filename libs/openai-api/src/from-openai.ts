import type { ChatInput, InputMessage, InputPart } from './chat-input';
import { ChatCompletionRequestSchema, type ChatCompletionRequest, type ChatMessage } from './schemas/chat-request';
import { parseBody } from './schemas/parse';
import { assertSupported } from './schemas/unsupported-features';
import { assistantToolCallText, toolResponseText } from './tools/tool-prompt';

const plain = (c: string | Array<{ text: string }>) => (typeof c === 'string' ? c : c.map((p) => p.text).join('\n'));

/** Validates an OpenAI chat completion body and turns it into the wire-neutral ChatInput. */
export function chatInputFromOpenAI(body: unknown): ChatInput {
  const r = parseBody(ChatCompletionRequestSchema, body);
  assertSupported(r);
  return toChatInput(r);
}

export function toChatInput(r: ChatCompletionRequest): ChatInput {
  const stop = r.stop == null ? [] : typeof r.stop === 'string' ? [r.stop] : r.stop;
  return {
    model: r.model,
    messages: r.messages.map(toMessage),
    // max_completion_tokens is OpenAI's current name; max_tokens is what vLLM/LMDeploy clients still send.
    maxTokens: r.max_completion_tokens ?? r.max_tokens ?? undefined,
    temperature: r.temperature ?? undefined,
    topP: r.top_p ?? undefined,
    // vLLM spells "off" as -1, the queue as 0.
    topK: r.top_k == null ? undefined : Math.max(0, r.top_k),
    repetitionPenalty: r.repetition_penalty ?? undefined,
    seed: r.seed ?? undefined,
    stop,
    maxDynamicPatch: r.max_dynamic_patch ?? undefined,
    stream: r.stream === true,
    includeUsage: r.stream === true && r.stream_options?.include_usage === true,
    n: r.n ?? undefined,
    skipSpecialTokens: r.skip_special_tokens ?? undefined,
    presencePenalty: r.presence_penalty ?? undefined,
    frequencyPenalty: r.frequency_penalty ?? undefined,
    minP: r.min_p ?? undefined,
    logitBias: r.logit_bias ?? undefined,
    logprobs: r.logprobs ?? undefined,
    topLogprobs: r.top_logprobs ?? undefined,
    responseFormat: r.response_format ?? undefined,
    tools: r.tools?.length ? r.tools : undefined,
    toolChoice: r.tool_choice ?? undefined,
  };
}

function toMessage(m: ChatMessage, i: number): InputMessage {
  const param = `messages[${i}]`;
  // Qwen2.5's template: a tool result is a user turn wrapped in <tool_response>, a call is <tool_call> text.
  if (m.role === 'tool') return { role: 'user', parts: [{ type: 'text', text: toolResponseText(plain(m.content)) }], param };
  if (m.role === 'assistant' && m.tool_calls?.length) {
    return { role: 'assistant', parts: [{ type: 'text', text: assistantToolCallText(plain(m.content ?? ''), m.tool_calls, `${param}.tool_calls`) }], param };
  }
  const role = m.role === 'developer' ? 'system' : m.role;
  const content = m.content ?? '';
  if (typeof content === 'string') return { role, parts: [{ type: 'text', text: content }], param };
  const parts = content.map((p, j): InputPart => {
    const where = `${param}.content[${j}]`;
    if (p.type === 'text') return { type: 'text', text: p.text };
    if (p.type === 'image_url') {
      const v = typeof p.image_url === 'string' ? { url: p.image_url } : p.image_url;
      const o = v as { max_dynamic_patch?: number | null; detail?: 'auto' | 'low' | 'high' | null };
      return { type: 'image', source: { url: v.url }, maxNum: o.max_dynamic_patch ?? undefined, detail: o.detail ?? undefined, param: `${where}.image_url` };
    }
    const v = typeof p.video_url === 'string' ? { url: p.video_url } : p.video_url;
    const o = v as { num_segments?: number | null; bound?: [number, number] | null };
    return { type: 'video', source: { url: v.url }, numSegments: o.num_segments ?? undefined, bound: o.bound ?? undefined, param: `${where}.video_url` };
  });
  return { role, parts, param };
}
