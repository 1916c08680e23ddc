import { z } from 'zod';

/**
 * POST /v1/chat/completions as OpenAI defines it, plus the extensions vLLM and LMDeploy users already send
 * (`top_k`, `repetition_penalty`, `max_dynamic_patch`, `video_url`). Unknown fields are dropped, not refused: the
 * official clients send fields we have no use for; fields that would change the answer if ignored are refused in
 * `unsupported-features.ts` instead.
 */
const nullish = <T extends z.ZodType>(t: T) => t.nullable().optional();

export const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });

export const ImageUrlPartSchema = z.object({
  type: z.literal('image_url'),
  image_url: z.union([
    z.string(),
    z.object({
      url: z.string().min(1),
      /** `low`: one 448-px tile (256 tokens); `high` and `auto`: the model's tile budget (max_dynamic_patch). */
      detail: nullish(z.enum(['auto', 'low', 'high'])),
      /** InternVL extension (as LMDeploy): tiles for this image. */
      max_dynamic_patch: nullish(z.number().int().min(1)),
    }),
  ]),
});

export const VideoUrlPartSchema = z.object({
  type: z.literal('video_url'),
  video_url: z.union([
    z.string(),
    z.object({
      url: z.string().min(1),
      /** Frames sampled uniformly (the model card's `num_segments`). */
      num_segments: nullish(z.number().int().min(1)),
      /** [start, end] in seconds (the card's `bound`). */
      bound: nullish(z.tuple([z.number().min(0), z.number().min(0)])),
    }),
  ]),
});

export const UserContentPartSchema = z.discriminatedUnion('type', [TextPartSchema, ImageUrlPartSchema, VideoUrlPartSchema]);

const textOrTextParts = z.union([z.string(), z.array(TextPartSchema)]);

export const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

export const ToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a function name is 1 to 64 letters, digits, _ or -'),
    description: nullish(z.string()),
    parameters: nullish(z.record(z.string(), z.unknown())),
    strict: nullish(z.boolean()),
  }),
});

export const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
]);

export const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a schema name is 1 to 64 letters, digits, _ or -'),
      description: nullish(z.string()),
      schema: nullish(z.record(z.string(), z.unknown())),
      strict: nullish(z.boolean()),
    }),
  }),
]);

export const MessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: textOrTextParts, name: nullish(z.string()) }),
  z.object({ role: z.literal('developer'), content: textOrTextParts, name: nullish(z.string()) }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(UserContentPartSchema)]), name: nullish(z.string()) }),
  z.object({
    role: z.literal('assistant'),
    content: nullish(textOrTextParts),
    name: nullish(z.string()),
    refusal: nullish(z.string()),
    tool_calls: nullish(z.array(ToolCallSchema)),
  }),
  z.object({ role: z.literal('tool'), content: textOrTextParts, tool_call_id: z.string() }),
]);

export const ChatCompletionRequestSchema = z.object({
  model: z.string().min(1),
  messages: z.array(MessageSchema).min(1),
  max_tokens: nullish(z.number().int().min(1)),
  max_completion_tokens: nullish(z.number().int().min(1)),
  temperature: nullish(z.number().min(0).max(2)),
  top_p: nullish(z.number().gt(0).max(1)),
  /** vLLM extension; -1 or 0 disable it. */
  top_k: nullish(z.number().int().min(-1)),
  /** vLLM / LMDeploy extension, Hugging Face semantics. */
  repetition_penalty: nullish(z.number().gt(0).max(10)),
  /** vLLM extension: drop tokens below min_p × the top token's probability. */
  min_p: nullish(z.number().min(0).max(1)),
  /** vLLM extension: false keeps special tokens in the text (InternVL's `<ref>`/`<box>` grounding tags). */
  skip_special_tokens: nullish(z.boolean()),
  seed: nullish(z.number().int().min(0).max(2 ** 32 - 1)),
  stop: nullish(z.union([z.string().min(1), z.array(z.string().min(1))])),
  n: nullish(z.number().int().min(1)),
  stream: nullish(z.boolean()),
  stream_options: nullish(z.object({ include_usage: nullish(z.boolean()) })),
  /** InternVL extension (as LMDeploy): tiles per image for the whole request. */
  max_dynamic_patch: nullish(z.number().int().min(1)),
  frequency_penalty: nullish(z.number().min(-2).max(2)),
  presence_penalty: nullish(z.number().min(-2).max(2)),
  logprobs: nullish(z.boolean()),
  top_logprobs: nullish(z.number().int().min(0).max(20, 'top_logprobs must be at most 20')),
  logit_bias: nullish(z.record(z.string(), z.number().min(-100).max(100))),
  tools: nullish(z.array(ToolSchema)),
  tool_choice: nullish(ToolChoiceSchema),
  parallel_tool_calls: nullish(z.boolean()),
  functions: nullish(z.array(z.unknown())),
  function_call: nullish(z.unknown()),
  response_format: nullish(ResponseFormatSchema),
  modalities: nullish(z.array(z.string())),
  user: nullish(z.string()),
});

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;
export type ChatMessage = z.infer<typeof MessageSchema>;
export type UserContentPart = z.infer<typeof UserContentPartSchema>;
export type ToolDefinition = z.infer<typeof ToolSchema>;
export type ToolChoice = z.infer<typeof ToolChoiceSchema>;
export type ResponseFormat = z.infer<typeof ResponseFormatSchema>;
