import { type ChatInput, type InputMessage, type InputPart, type MediaSource, badRequest } from '@ivl/openai-api';

/** The decoded shape of ivl.serving.v1.GenerateRequest (proto-loader with keepCase, absent optionals undefined). */
export interface ProtoMedia {
  data?: Buffer;
  url?: string;
}
export interface ProtoPart {
  text?: string;
  image?: ProtoMedia & { max_dynamic_patch?: number };
  video?: ProtoMedia & { num_segments?: number; start_seconds?: number; end_seconds?: number };
}
export interface ProtoMessage {
  role?: string;
  content?: string;
  parts?: ProtoPart[];
}
export interface ProtoGenerateRequest {
  model?: string;
  messages?: ProtoMessage[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  repetition_penalty?: number;
  seed?: number;
  stop?: string[];
  max_dynamic_patch?: number;
}

const ROLES: Record<string, InputMessage['role']> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };

/**
 * GenerateRequest → the same ChatInput a REST body becomes, so both APIs validate and count identically. Range
 * checks that the JSON schema does for REST (temperature, top_p, …) are repeated here for the protobuf numbers.
 */
export function chatInputFromProto(r: ProtoGenerateRequest): ChatInput {
  if (!r.model) throw badRequest('missing_required_parameter', "'model' is required", 'model');
  if (!r.messages?.length) throw badRequest('missing_required_parameter', "'messages' must contain at least one message", 'messages');
  const num = (v: number | undefined, name: string, ok: (x: number) => boolean, rule: string) => {
    if (v !== undefined && !ok(v)) throw badRequest('invalid_value', `'${name}' ${rule}, got ${v}`, name);
    return v;
  };
  return {
    model: r.model,
    messages: r.messages.map(toMessage),
    maxTokens: num(r.max_tokens, 'max_tokens', (x) => x >= 1, 'must be at least 1'),
    temperature: num(r.temperature, 'temperature', (x) => x >= 0 && x <= 2, 'must be between 0 and 2'),
    topP: num(r.top_p, 'top_p', (x) => x > 0 && x <= 1, 'must be in (0, 1]'),
    topK: r.top_k,
    repetitionPenalty: num(r.repetition_penalty, 'repetition_penalty', (x) => x > 0 && x <= 10, 'must be in (0, 10]'),
    seed: r.seed,
    stop: (r.stop ?? []).map((s, i) => {
      if (!s) throw badRequest('invalid_value', 'stop strings must not be empty', `stop[${i}]`);
      return s;
    }),
    maxDynamicPatch: num(r.max_dynamic_patch, 'max_dynamic_patch', (x) => x >= 1, 'must be at least 1'),
    stream: true,
    includeUsage: true,
  };
}

function toMessage(m: ProtoMessage, i: number): InputMessage {
  const param = `messages[${i}]`;
  const role = ROLES[m.role ?? ''];
  if (!role) throw badRequest('invalid_value', `unsupported message role ${JSON.stringify(m.role ?? '')}; use system, developer, user or assistant`, `${param}.role`);
  if (!m.parts?.length) return { role, parts: [{ type: 'text', text: m.content ?? '' }], param };
  if (m.content) throw badRequest('invalid_value', 'set either content or parts, not both', `${param}.content`);
  return { role, parts: m.parts.map((p, j) => toPart(p, `${param}.parts[${j}]`)), param };
}

function toPart(p: ProtoPart, param: string): InputPart {
  if (p.text !== undefined) return { type: 'text', text: p.text };
  if (p.image) return { type: 'image', source: source(p.image, `${param}.image`), maxNum: p.image.max_dynamic_patch, param: `${param}.image` };
  if (p.video) {
    const v = p.video;
    const bound: [number, number] | undefined = v.start_seconds !== undefined || v.end_seconds !== undefined ? [v.start_seconds ?? 0, v.end_seconds ?? Number.MAX_SAFE_INTEGER] : undefined;
    return { type: 'video', source: source(v, `${param}.video`), numSegments: v.num_segments, bound, param: `${param}.video` };
  }
  throw badRequest('invalid_value', 'a content part must set text, image or video', param);
}

function source(m: ProtoMedia, param: string): MediaSource {
  if (m.data?.length) return { data: new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength) };
  if (m.url) return { url: m.url };
  throw badRequest('invalid_value', 'set data or url', param);
}
