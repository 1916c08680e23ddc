import type { IvlTokenizer } from '@ivl/prompt';
import type { FinishReason, GenerateJobResult, GroundedBox } from '@ivl/queue';
import { type OpenAILogprobs, openaiLogprobs } from './logprobs';
import { type ToolCall, parseToolCalls } from './tools/tool-calls';
import type { ToolPlan } from './tools/tool-grammar';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** As OpenAI: how many prompt tokens the prefix cache served (their KV reused, not prefilled again). */
  prompt_tokens_details: { cached_tokens: number };
}

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls';

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: {
      role: 'assistant';
      content: string | null;
      refusal: null;
      tool_calls?: ToolCall[];
      /** InternVL extension: `<ref>…</ref><box>…</box>` answers parsed into pixel boxes of the first image. */
      grounding?: GroundedBox[];
    };
    logprobs: OpenAILogprobs | null;
    finish_reason: OpenAIFinishReason;
  }>;
  usage: Usage;
}

export interface ToolCallDelta {
  index: number;
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string; tool_calls?: ToolCallDelta[] };
    logprobs: OpenAILogprobs | null;
    finish_reason: OpenAIFinishReason | null;
  }>;
  usage?: Usage | null;
}

/** What shapes the choices of an answer besides the job results. */
export interface ChoiceOptions {
  tokenizer: IvlTokenizer;
  logprobs: boolean;
  tools?: ToolPlan;
}

/** The usage of an answer; with n > 1 choices the prompt (and its cached part) is the first choice's, counted once. */
export const usage = (prompt: number, completion: number, cached = 0): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  prompt_tokens_details: { cached_tokens: cached },
});

/** OpenAI knows only stop and length; a job that was cancelled while someone still listens ended early, i.e. stop. */
export function openaiFinishReason(r: FinishReason): OpenAIFinishReason {
  return r === 'length' ? 'length' : 'stop';
}

export const completionId = (jobId: string) => `chatcmpl-${jobId}`;


/** One chat.completion from the results of its choices (one job per choice); the prompt is counted once. */
export function chatCompletion(jobId: string, model: string, created: number, results: GenerateJobResult | GenerateJobResult[], o?: ChoiceOptions): ChatCompletion {
  const all = Array.isArray(results) ? results : [results];
  const choices = all.map((result, index): ChatCompletion['choices'][0] => {
    const message: ChatCompletion['choices'][0]['message'] = { role: 'assistant', content: result.text, refusal: null };
    let finish = openaiFinishReason(result.finishReason);
    if (o?.tools && o.tools.choice !== 'none') {
      const { content, calls } = parseToolCalls(result.text);
      if (calls.length) {
        message.content = content;
        message.tool_calls = calls;
        if (finish === 'stop') finish = 'tool_calls';
      }
    }
    if (result.grounding?.length) message.grounding = result.grounding;
    const logprobs = o?.logprobs ? openaiLogprobs(o.tokenizer, result.logprobs ?? []) : null;
    return { index, message, logprobs, finish_reason: finish };
  });
  const completion = all.reduce((a, r) => a + r.completionTokens, 0);
  return { id: completionId(jobId), object: 'chat.completion', created, model, choices, usage: usage(all[0].promptTokens, completion, all[0].cachedTokens) };
}

/** Builds the chunks of one streamed completion; `usage: null` on every chunk when usage was asked for, as OpenAI. */
export class ChunkFactory {
  constructor(
    private readonly jobId: string,
    private readonly model: string,
    private readonly created: number,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(choices: ChatCompletionChunk['choices'], usageValue?: Usage): ChatCompletionChunk {
    const c: ChatCompletionChunk = { id: completionId(this.jobId), object: 'chat.completion.chunk', created: this.created, model: this.model, choices };
    if (this.includeUsage) c.usage = usageValue ?? null;
    return c;
  }

  role(index = 0): ChatCompletionChunk {
    return this.chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  }

  content(text: string, index = 0, logprobs: OpenAILogprobs | null = null): ChatCompletionChunk {
    return this.chunk([{ index, delta: { content: text }, logprobs, finish_reason: null }]);
  }

  toolCall(call: ToolCallDelta, index = 0): ChatCompletionChunk {
    return this.chunk([{ index, delta: { tool_calls: [call] }, logprobs: null, finish_reason: null }]);
  }

  finish(reason: FinishReason | 'tool_calls', index = 0): ChatCompletionChunk {
    return this.chunk([{ index, delta: {}, logprobs: null, finish_reason: reason === 'tool_calls' ? 'tool_calls' : openaiFinishReason(reason) }]);
  }

  usage(prompt: number, completion: number, cached = 0): ChatCompletionChunk {
    return this.chunk([], usage(prompt, completion, cached));
  }
}

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  root: string;
  max_model_len: number;
}
