// OpenAI-compatible chat completions for InternVL: request schema and validation, conversion of messages into the
// queue's chat() input with exact prompt-token counting, media loading with SSRF guards, responses, SSE and errors.
export * from './errors';
export * from './limits';
export * from './chat-input';
export * from './schemas/chat-request';
export { parseBody, paramPath } from './schemas/parse';
export { assertSupported } from './schemas/unsupported-features';
export { chatInputFromOpenAI, toChatInput } from './from-openai';
export { toCardConversation, type CardConversation, type ImageSlot, type VideoSlot } from './conversation';
export { type AddressPolicy, publicAddressesOnly, anyAddress, ipFamily } from './media/address-policy';
export { fetchUrl, type FetchOptions } from './media/fetch-url';
export { decodeDataUrl } from './media/data-url';
export { loadMedia, type MediaLoadOptions } from './media/load-media';
export { probeImage, type ImageHeader } from './media/probe-image';
export { loadServedModel, type ServedModel } from './served-model';
export { prepareChat, type PrepareContext, type PreparedChat } from './prepare-chat';
export * from './responses';
export * from './sse';
export { openaiLogprobs, tokenEntry, type OpenAILogprobs, type OpenAITokenLogprob } from './logprobs';
export { responseGrammar } from './response-format';
export { planTools, type ToolPlan } from './tools/tool-grammar';
export { parseToolCalls, ToolCallStream, type ToolCall, type ToolStreamEvent } from './tools/tool-calls';
export { toolSystemPrompt, pyJson } from './tools/tool-prompt';
export { tokenizeChat } from './prepare-chat';
export { encodeRawPrompt, encoderOf, tokenizing } from './prompt-encoding';
export { prepareCompletion, type PreparedCompletion } from './prepare-completion';
export { textCompletion, textChunk, legacyLogprobs, type TextCompletion } from './text-completion';
export { TokenizeRequestSchema, DetokenizeRequestSchema, CompletionRequestSchema } from './schemas/completion-request';
