import { unsupported } from '../errors';
import type { ChatCompletionRequest } from './chat-request';

/**
 * Parameters we cannot honour. Ignoring them would return an answer the caller did not ask for, so they are
 * refused with a message that says what to do instead. The legacy `functions` API is refused in favour of `tools`;
 * its neutral values ("none", "auto") are accepted because some SDK wrappers send them by default.
 */
export function assertSupported(r: ChatCompletionRequest): void {
  if (r.functions?.length) unsupportedParam('functions', 'the legacy functions parameter is not supported; use tools');
  if (r.function_call != null && r.function_call !== 'none' && r.function_call !== 'auto') unsupportedParam('function_call', 'the legacy function_call parameter is not supported; use tool_choice');
  if (r.modalities && r.modalities.some((m) => m !== 'text')) unsupportedParam('modalities', 'only text output is supported');
}

function unsupportedParam(param: string, message: string): never {
  throw unsupported(param, message);
}
