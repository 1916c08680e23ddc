import type { ChatInput, InputMessage, InputPart } from './chat-input';
import { ChatCompletionRequestSchema, type ChatCompletionRequest, type ChatMessage } from './schemas/chat-request';
import { parseBody } from './schemas/parse';
import { assertSupported } from './schemas/unsupported-features';

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
  };
}

function toMessage(m: ChatMessage, i: number): InputMessage {
  const param = `messages[${i}]`;
  const role = m.role === 'developer' ? 'system' : m.role;
  const content = m.content ?? '';
  if (typeof content === 'string') return { role, parts: [{ type: 'text', text: content }], param };
  const parts = content.map((p, j): InputPart => {
    const where = `${param}.content[${j}]`;
    if (p.type === 'text') return { type: 'text', text: p.text };
    if (p.type === 'image_url') {
      const v = typeof p.image_url === 'string' ? { url: p.image_url } : p.image_url;
      return { type: 'image', source: { url: v.url }, maxNum: (v as { max_dynamic_patch?: number | null }).max_dynamic_patch ?? undefined, param: `${where}.image_url` };
    }
    const v = typeof p.video_url === 'string' ? { url: p.video_url } : p.video_url;
    const o = v as { num_segments?: number | null; bound?: [number, number] | null };
    return { type: 'video', source: { url: v.url }, numSegments: o.num_segments ?? undefined, bound: o.bound ?? undefined, param: `${where}.video_url` };
  });
  return { role, parts, param };
}
