import type { Request } from 'express';
import type { Principal } from '@ivl/client-grpc';
import { ApiError } from '@ivl/openai-api';

/** The caller established by ApiGuard. */
export type AuthedRequest = Request & { principal: Principal };

export function principalOf(req: Request): Principal {
  return (req as AuthedRequest).principal;
}

/** JSON endpoints refuse other bodies with 415 rather than reading an empty body as a missing field. */
export function requireJson(req: Request): void {
  if (!req.is('application/json')) {
    throw new ApiError(415, 'invalid_request_error', 'unsupported_media_type', `the request body must be JSON (Content-Type: application/json), got ${req.headers['content-type'] ?? 'none'}`);
  }
}
