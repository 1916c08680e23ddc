import type { ResponseFormat, ToolChoice, ToolDefinition } from './schemas/chat-request';

/**
 * A chat request after its wire format is gone: REST (OpenAI JSON) and gRPC (protobuf) both become this, so both
 * go through the same validation, counting and conversion, and the same conversation gives the same prompt.
 */
export type MediaSource = { url: string } | { data: Uint8Array };

export type InputPart =
  | { type: 'text'; text: string }
  | { type: 'image'; source: MediaSource; maxNum?: number; detail?: 'auto' | 'low' | 'high'; param: string }
  | { type: 'video'; source: MediaSource; numSegments?: number; bound?: [number, number]; param: string };

export interface InputMessage {
  role: 'system' | 'user' | 'assistant';
  parts: InputPart[];
  /** Where the message sits in the caller's request, for error `param`s (`messages[2]`). */
  param: string;
}

export interface ChatInput {
  model: string;
  messages: InputMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  /** 0 disables top-k. */
  topK?: number;
  repetitionPenalty?: number;
  seed?: number;
  stop: string[];
  maxDynamicPatch?: number;
  stream: boolean;
  includeUsage: boolean;
  /** false: special tokens (grounding tags) stay in the text. */
  skipSpecialTokens?: boolean;
  /** Choices to generate (OpenAI's n). */
  n?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  minP?: number;
  /** Token id (decimal string) → bias. */
  logitBias?: Record<string, number>;
  logprobs?: boolean;
  topLogprobs?: number;
  responseFormat?: ResponseFormat;
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
}
