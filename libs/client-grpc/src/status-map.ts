import * as grpc from '@grpc/grpc-js';
import { isApiError, storeFailure } from '@ivl/openai-api';

const CODES: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  413: grpc.status.INVALID_ARGUMENT,
  415: grpc.status.INVALID_ARGUMENT,
  422: grpc.status.INVALID_ARGUMENT,
  429: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.UNAVAILABLE,
};

/**
 * An ApiError as a gRPC status: the code from the HTTP status, the same message, and OpenAI's `code`/`param` plus
 * Retry-After in trailing metadata (`error-code`, `error-param`, `retry-after`) for clients that branch on them.
 */
export function toServiceError(raw: unknown): Partial<grpc.StatusObject> & Error {
  const metadata = new grpc.Metadata();
  const e = storeFailure(raw) ?? raw;
  if (isApiError(e)) {
    if (e.code) metadata.set('error-code', e.code);
    if (e.param) metadata.set('error-param', e.param);
    if (e.headers['Retry-After']) metadata.set('retry-after', e.headers['Retry-After']);
    return Object.assign(new Error(e.message), { code: CODES[e.status] ?? grpc.status.INTERNAL, details: e.message, metadata });
  }
  const message = e instanceof Error ? e.message : String(e);
  return Object.assign(new Error(message), { code: grpc.status.INTERNAL, details: `internal error: ${message}`, metadata });
}
