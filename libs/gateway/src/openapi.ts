import { z } from 'zod';
import { CreateBatchSchema } from '@ivl/batch';
import { ChatCompletionRequestSchema, CompletionRequestSchema, DetokenizeRequestSchema, TokenizeRequestSchema } from '@ivl/openai-api';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });

const ERROR = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: ['string', 'null'] } },
      required: ['message', 'type', 'param', 'code'],
    },
  },
};

const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { description: ERROR_TEXT[c], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]));

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request (schema, message structure, too many images or tiles, prompt too long, refused URL)',
  401: 'Missing or wrong API key',
  404: 'Unknown model, file or batch',
  413: 'Body, image, video or file too large (bytes or pixels)',
  415: 'Body is not JSON',
  422: 'Image or video in an unsupported or unreadable format',
  429: 'Rate limit of the key reached, or queue full (Retry-After)',
  503: 'No pipeline ready, or the gateway is shutting down (Retry-After)',
};

const json = (ref: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
const ok = (description: string, body: object = { content: { 'application/json': { schema: { type: 'object' } } } }) => ({ description, ...body });
const id = (name: string) => [{ name, in: 'path', required: true, schema: { type: 'string' } }];

/** The OpenAPI 3.1 document of the REST API; request schemas are generated from the same zod schemas that validate. */
export function openApiDocument(modelNames: string[]): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'ivl-cluster gateway',
      version: '1.0.0',
      description:
        `OpenAI-compatible API for InternVL2.5 (served as ${modelNames.map((n) => `\`${n}\``).join(', ')}). ` +
        'Extensions: `top_k`, `min_p`, `repetition_penalty`, `skip_special_tokens`, `max_dynamic_patch` (per request and per image), `video_url` parts, and a `grounding` ' +
        'field on the message when the answer contains `<ref>…</ref><box>…</box>` (boxes in pixels of the first image; non-streamed responses only).',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: ERROR,
        ChatCompletionRequest: schema(ChatCompletionRequestSchema),
        CompletionRequest: schema(CompletionRequestSchema),
        TokenizeRequest: schema(TokenizeRequestSchema),
        DetokenizeRequest: schema(DetokenizeRequestSchema),
        CreateBatchRequest: schema(CreateBatchSchema),
      },
    },
    paths: {
      '/v1/chat/completions': {
        post: {
          summary: 'Chat completion (streamed as server-sent events when stream is true)',
          requestBody: { required: true, ...json('ChatCompletionRequest') },
          responses: {
            '200': { description: 'chat.completion, or a text/event-stream of chat.completion.chunk ending with data: [DONE]', content: { 'application/json': { schema: { type: 'object' } }, 'text/event-stream': { schema: { type: 'string' } } } },
            ...errors(400, 401, 404, 413, 415, 422, 429, 503),
          },
        },
      },
      '/v1/completions': {
        post: {
          summary: 'Text completion of a raw prompt (no chat template); streamed as server-sent events when stream is true',
          requestBody: { required: true, ...json('CompletionRequest') },
          responses: {
            '200': { description: 'text_completion, or a text/event-stream of them ending with data: [DONE]', content: { 'application/json': { schema: { type: 'object' } }, 'text/event-stream': { schema: { type: 'string' } } } },
            ...errors(400, 401, 404, 415, 429, 503),
          },
        },
      },
      '/tokenize': { post: { summary: "Token ids of a raw prompt or of chat messages as the worker builds them (vLLM's shape)", requestBody: { required: true, ...json('TokenizeRequest') }, responses: { '200': ok('{count, max_model_len, tokens}'), ...errors(400, 401, 404, 413, 415, 422) } } },
      '/detokenize': { post: { summary: 'Text of token ids', requestBody: { required: true, ...json('DetokenizeRequest') }, responses: { '200': ok('{prompt}'), ...errors(400, 401, 404, 415) } } },
      '/v1/models': { get: { summary: 'List models', responses: { '200': ok('list of model objects'), ...errors(401) } } },
      '/v1/models/{model}': { get: { summary: 'Get a model', parameters: id('model'), responses: { '200': ok('model object'), ...errors(401, 404) } } },
      '/v1/files': {
        post: {
          summary: 'Upload a batch input file (JSONL of chat completion requests)',
          requestBody: {
            required: true,
            content: { 'multipart/form-data': { schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' }, purpose: { type: 'string', enum: ['batch'] } }, required: ['file', 'purpose'] } } },
          },
          responses: { '200': ok('file object'), ...errors(400, 401, 413) },
        },
        get: { summary: 'List files', responses: { '200': ok('list of file objects'), ...errors(401) } },
      },
      '/v1/files/{file_id}': {
        get: { summary: 'Get a file object', parameters: id('file_id'), responses: { '200': ok('file object'), ...errors(401, 404) } },
        delete: { summary: 'Delete a file', parameters: id('file_id'), responses: { '200': ok('deletion status'), ...errors(401, 404) } },
      },
      '/v1/files/{file_id}/content': {
        get: { summary: 'File content (batch output and error files)', parameters: id('file_id'), responses: { '200': { description: 'JSONL', content: { 'application/jsonl': { schema: { type: 'string' } } } }, ...errors(401, 404) } },
      },
      '/v1/batches': {
        post: { summary: 'Create a batch', requestBody: { required: true, ...json('CreateBatchRequest') }, responses: { '200': ok('batch object'), ...errors(400, 401, 404, 415) } },
        get: { summary: 'List batches', responses: { '200': ok('list of batch objects'), ...errors(401) } },
      },
      '/v1/batches/{batch_id}': { get: { summary: 'Get a batch (status, request counts, file ids)', parameters: id('batch_id'), responses: { '200': ok('batch object'), ...errors(401, 404) } } },
      '/v1/batches/{batch_id}/cancel': { post: { summary: 'Cancel a batch', parameters: id('batch_id'), responses: { '200': ok('batch object'), ...errors(401, 404) } } },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': ok('process alive') } } },
      '/readyz': { get: { summary: 'Readiness: Redis reachable and a complete pipeline ready', security: [], responses: { '200': ok('ready'), '503': ok('not ready') } } },
    },
  };
}
