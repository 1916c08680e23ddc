/**
 * Every refusal the gateway makes, in OpenAI's shape: clients switching from OpenAI, vLLM or LMDeploy branch on the
 * HTTP status and on `error.code`, so both are part of the API (see the table in libs/gateway/README.md).
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'service_unavailable_error';

export interface OpenAIErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string | null,
    message: string,
    readonly param: string | null = null,
    /** Extra response headers, e.g. Retry-After on 429/503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

export const badRequest = (code: string, message: string, param: string | null = null) =>
  new ApiError(400, 'invalid_request_error', code, message, param);

export const unsupported = (param: string, message: string) => new ApiError(400, 'invalid_request_error', 'unsupported_parameter', message, param);

export const tooLarge = (code: string, message: string, param: string | null = null) =>
  new ApiError(413, 'invalid_request_error', code, message, param);

export const unprocessable = (code: string, message: string, param: string | null = null) =>
  new ApiError(422, 'invalid_request_error', code, message, param);

export const notFound = (code: string, message: string, param: string | null = null) =>
  new ApiError(404, 'invalid_request_error', code, message, param);

export const unauthorized = (message: string) =>
  new ApiError(401, 'authentication_error', 'invalid_api_key', message, null, { 'WWW-Authenticate': 'Bearer' });

export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number) =>
  new ApiError(429, 'rate_limit_error', code, message, null, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });

export const unavailable = (code: string, message: string, retryAfterSeconds = 5) =>
  new ApiError(503, 'service_unavailable_error', code, message, null, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });

export const serverError = (message: string, code = 'internal_error') => new ApiError(500, 'server_error', code, message);

/**
 * A failure of the cluster's Redis (the queue, token streams, limits) as the client should see it: 503 with
 * Retry-After and a reason, never a 500. `redis_full` when Redis refuses writes at its maxmemory, `redis_unavailable`
 * while it cannot be reached (restarting, network). Undefined for any other error.
 */
export function storeFailure(e: unknown): ApiError | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  const name = e instanceof Error ? e.name : '';
  if (/^OOM |maxmemory/.test(msg)) {
    return unavailable('redis_full', 'the cluster\'s Redis is full (maxmemory reached) and refuses new work; retry later', 10);
  }
  if (/^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN)\b/.test(msg)) {
    return unavailable('redis_unavailable', `the cluster's Redis is not accepting writes (${msg.split(' ')[0]}); retry shortly`, 2);
  }
  if (name === 'MaxRetriesPerRequestError' || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Connection is closed|Stream isn't writeable|enableOfflineQueue|max retries per request/i.test(msg)) {
    return unavailable('redis_unavailable', 'the cluster\'s Redis cannot be reached; retry shortly', 2);
  }
  return undefined;
}
