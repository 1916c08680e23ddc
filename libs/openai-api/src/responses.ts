import type { FinishReason, GenerateJobResult, GroundedBox } from '@ivl/queue';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type OpenAIFinishReason = 'stop' | 'length';

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    message: {
      role: 'assistant';
      content: string;
      refusal: null;
      /** InternVL extension: `<ref>…</ref><box>…</box>` answers parsed into pixel boxes of the first image. */
      grounding?: GroundedBox[];
    };
    logprobs: null;
    finish_reason: OpenAIFinishReason;
  }>;
  usage: Usage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{ index: 0; delta: { role?: 'assistant'; content?: string }; logprobs: null; finish_reason: OpenAIFinishReason | null }>;
  usage?: Usage | null;
}

export const usage = (prompt: number, completion: number): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

/** OpenAI knows only stop and length; a job that was cancelled while someone still listens ended early, i.e. stop. */
export function openaiFinishReason(r: FinishReason): OpenAIFinishReason {
  return r === 'length' ? 'length' : 'stop';
}

export const completionId = (jobId: string) => `chatcmpl-${jobId}`;

export function chatCompletion(jobId: string, model: string, created: number, result: GenerateJobResult): ChatCompletion {
  const message: ChatCompletion['choices'][0]['message'] = { role: 'assistant', content: result.text, refusal: null };
  if (result.grounding?.length) message.grounding = result.grounding;
  return {
    id: completionId(jobId),
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: openaiFinishReason(result.finishReason) }],
    usage: usage(result.promptTokens, result.completionTokens),
  };
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

  role(): ChatCompletionChunk {
    return this.chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  }

  content(text: string): ChatCompletionChunk {
    return this.chunk([{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }]);
  }

  finish(reason: FinishReason): ChatCompletionChunk {
    return this.chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: openaiFinishReason(reason) }]);
  }

  usage(prompt: number, completion: number): ChatCompletionChunk {
    return this.chunk([], usage(prompt, completion));
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
