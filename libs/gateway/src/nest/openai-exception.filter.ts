import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiError, isApiError, serverError, storeFailure } from '@ivl/openai-api';
import type { GatewayLogger } from '../config';

const HTTP_CODES: Record<number, [ApiError['type'], string]> = {
  400: ['invalid_request_error', 'invalid_value'],
  404: ['invalid_request_error', 'not_found'],
  405: ['invalid_request_error', 'method_not_allowed'],
  413: ['invalid_request_error', 'request_too_large'],
  415: ['invalid_request_error', 'unsupported_media_type'],
};

/** Every error leaves in OpenAI's shape, `{"error": {message, type, param, code}}`, whatever raised it. */
@Catch()
export class OpenAIExceptionFilter implements ExceptionFilter {
  constructor(private readonly log: GatewayLogger) {}

  catch(e: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const api = this.toApiError(e, req);
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(api.headers)) res.setHeader(k, v);
    res.status(api.status).json(api.body());
  }

  private toApiError(e: unknown, req: Request): ApiError {
    if (isApiError(e)) return e;
    if (e instanceof HttpException) {
      const status = e.getStatus();
      if (status === 404) return new ApiError(404, 'invalid_request_error', 'not_found', `Invalid URL (${req.method} ${req.path})`);
      const [type, code] = HTTP_CODES[status] ?? ['invalid_request_error', null];
      const fileTooLarge = status === 413 && /file/i.test(e.message);
      return new ApiError(status, status >= 500 ? 'server_error' : type, fileTooLarge ? 'file_too_large' : code, e.message);
    }
    const store = storeFailure(e);
    if (store) {
      this.log.warn(`${req.method} ${req.path}: ${store.code}: ${(e as Error)?.message ?? String(e)}`);
      return store;
    }
    this.log.error(`unhandled error on ${req.method} ${req.path}: ${(e as Error)?.stack ?? String(e)}`);
    return serverError('The server had an error while processing your request.');
  }
}
