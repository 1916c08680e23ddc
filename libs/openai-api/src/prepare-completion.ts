import { badRequest, notFound, unsupported } from './errors';
import type { PrepareContext, PreparedChat } from './prepare-chat';
import { checkN, samplingOptions, tokenBudget } from './prepare-chat';
import { CompletionRequestSchema } from './schemas/completion-request';
import { parseBody } from './schemas/parse';
import { encodeRawPrompt } from './prompt-encoding';

/** What /v1/completions needs besides a PreparedChat: the prompt text (for echo). */
export interface PreparedCompletion extends PreparedChat {
  prompt: string;
  echo: boolean;
}

/** Validates a /v1/completions body and makes the job: the prompt exactly as sent, tokenized without a template. */
export async function prepareCompletion(body: unknown, ctx: PrepareContext): Promise<PreparedCompletion> {
  const r = parseBody(CompletionRequestSchema, body);
  const { model, limits } = ctx;
  if (!model.names.includes(r.model)) throw notFound('model_not_found', `The model \`${r.model}\` does not exist. Available: ${model.names.join(', ')}`, 'model');
  if (r.suffix) throw unsupported('suffix', 'suffix (fill-in-the-middle) is not supported');
  if (r.best_of != null && r.best_of !== (r.n ?? 1)) throw unsupported('best_of', 'best_of is not supported; use n');
  const prompt = typeof r.prompt === 'string' ? r.prompt : r.prompt[0];
  const ids = await encodeRawPrompt(prompt, ctx);
  if (!ids.length) throw badRequest('invalid_value', 'the prompt is empty', 'prompt');
  if (ids.includes(model.config.imageContextTokenId)) throw badRequest('invalid_value', 'a raw prompt cannot contain image-context tokens; send images through /v1/chat/completions', 'prompt');
  const stop = r.stop == null ? [] : typeof r.stop === 'string' ? [r.stop] : r.stop;
  if (stop.length > limits.maxStopSequences) throw badRequest('invalid_value', `at most ${limits.maxStopSequences} stop sequences are allowed`, 'stop');
  const n = checkN(r.n ?? undefined, limits.maxChoices);
  const extra = samplingOptions(
    {
      logprobs: r.logprobs != null,
      topLogprobs: r.logprobs ?? undefined,
      logitBias: r.logit_bias ?? undefined,
      presencePenalty: r.presence_penalty ?? undefined,
      frequencyPenalty: r.frequency_penalty ?? undefined,
      minP: r.min_p ?? undefined,
    },
    model,
  );
  // OpenAI's default for this endpoint is 16 tokens.
  const maxTokens = tokenBudget(ids.length, r.max_tokens ?? 16, ctx);
  return {
    model: model.names[0],
    prompt,
    echo: r.echo === true,
    promptTokens: ids.length,
    maxTokens,
    stream: r.stream === true,
    includeUsage: r.stream === true && r.stream_options?.include_usage === true,
    numPatches: [],
    n,
    logprobs: extra.logprobs !== undefined,
    submit: {
      model: model.names[0],
      rawPrompt: true,
      input: { question: prompt },
      sampling: {
        maxNewTokens: maxTokens,
        temperature: r.temperature ?? undefined,
        topK: r.top_k == null ? undefined : Math.max(0, r.top_k),
        topP: r.top_p ?? undefined,
        repetitionPenalty: r.repetition_penalty ?? undefined,
        seed: r.seed ?? undefined,
        stop,
        ...extra,
      },
    },
  };
}
