import { unsupported } from '../errors';
import type { ChatCompletionRequest } from './chat-request';

/**
 * Parameters we cannot honour. Ignoring them would return an answer the caller did not ask for (several choices,
 * log-probabilities, a tool call, JSON mode), so they are refused with a message that says what to do instead.
 * Their neutral values (n = 1, penalties 0, tool_choice "none", …) are accepted because clients send them by default.
 */
export function assertSupported(r: ChatCompletionRequest): void {
  if (r.n != null && r.n !== 1) unsupportedParam('n', 'only n = 1 is supported; send several requests instead');
  if (r.frequency_penalty) unsupportedParam('frequency_penalty', 'frequency_penalty is not supported; use repetition_penalty (Hugging Face semantics, > 1 discourages repeats)');
  if (r.presence_penalty) unsupportedParam('presence_penalty', 'presence_penalty is not supported; use repetition_penalty (Hugging Face semantics, > 1 discourages repeats)');
  if (r.logprobs) unsupportedParam('logprobs', 'logprobs are not supported');
  if (r.top_logprobs) unsupportedParam('top_logprobs', 'top_logprobs are not supported');
  if (r.logit_bias && Object.keys(r.logit_bias).length) unsupportedParam('logit_bias', 'logit_bias is not supported');
  if (r.tools?.length || r.functions?.length) unsupportedParam(r.tools?.length ? 'tools' : 'functions', 'tool and function calling are not supported by this model server');
  // tool_choice "auto" without tools is what some SDK wrappers send; it cannot lead to a tool call.
  if (r.tool_choice != null && r.tool_choice !== 'none' && r.tool_choice !== 'auto') unsupportedParam('tool_choice', 'tool calling is not supported');
  if (r.function_call != null && r.function_call !== 'none' && r.function_call !== 'auto') unsupportedParam('function_call', 'function calling is not supported');
  if (r.response_format && r.response_format.type !== 'text') unsupportedParam('response_format', `response_format ${r.response_format.type} is not supported; only text`);
  if (r.modalities && r.modalities.some((m) => m !== 'text')) unsupportedParam('modalities', 'only text output is supported');
  r.messages.forEach((m, i) => {
    if (m.role === 'assistant' && m.tool_calls?.length) unsupportedParam(`messages[${i}].tool_calls`, 'tool calls in the conversation are not supported');
  });
}

function unsupportedParam(param: string, message: string): never {
  throw unsupported(param, message);
}
