import { z } from 'zod';

const nullish = <T extends z.ZodType>(t: T) => t.nullable().optional();

/**
 * POST /v1/completions (OpenAI's legacy text completions, as vLLM serves them): the prompt is tokenized as it is,
 * without the chat template. `logprobs` is the number of alternatives per token (vLLM allows up to 20).
 */
export const CompletionRequestSchema = z.object({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'one prompt per request is supported; send several requests')]),
  max_tokens: nullish(z.number().int().min(1)),
  temperature: nullish(z.number().min(0).max(2)),
  top_p: nullish(z.number().gt(0).max(1)),
  top_k: nullish(z.number().int().min(-1)),
  min_p: nullish(z.number().min(0).max(1)),
  repetition_penalty: nullish(z.number().gt(0).max(10)),
  presence_penalty: nullish(z.number().min(-2).max(2)),
  frequency_penalty: nullish(z.number().min(-2).max(2)),
  logit_bias: nullish(z.record(z.string(), z.number().min(-100).max(100))),
  logprobs: nullish(z.number().int().min(0).max(20, 'logprobs must be at most 20')),
  n: nullish(z.number().int().min(1)),
  seed: nullish(z.number().int().min(0).max(2 ** 32 - 1)),
  stop: nullish(z.union([z.string().min(1), z.array(z.string().min(1))])),
  stream: nullish(z.boolean()),
  stream_options: nullish(z.object({ include_usage: nullish(z.boolean()) })),
  echo: nullish(z.boolean()),
  suffix: nullish(z.string()),
  best_of: nullish(z.number().int().min(1)),
  user: nullish(z.string()),
});

export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

/** vLLM's POST /tokenize: a raw prompt, or chat messages rendered with the template. */
export const TokenizeRequestSchema = z.union([
  z.object({ model: nullish(z.string()), prompt: z.string(), add_special_tokens: nullish(z.boolean()), return_token_strs: nullish(z.boolean()) }),
  z.object({
    model: nullish(z.string()),
    messages: z.array(z.unknown()).min(1),
    add_generation_prompt: nullish(z.boolean()),
    return_token_strs: nullish(z.boolean()),
    tools: nullish(z.array(z.unknown())),
    max_dynamic_patch: nullish(z.number().int().min(1)),
  }),
]);

/** vLLM's POST /detokenize. */
export const DetokenizeRequestSchema = z.object({ model: nullish(z.string()), tokens: z.array(z.number().int().min(0)) });
