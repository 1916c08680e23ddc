import type { NextFunction, Request, Response } from 'express';
import { ApiError, badRequest, tooLarge } from '@ivl/openai-api';

/**
 * Express error middleware placed right after the JSON body parser, whose failures happen before Nest routing and
 * would otherwise leave as HTML: too large → 413, unparsable → 400, unsupported charset → 415.
 */
export function bodyErrors(limit: number) {
  return (err: { type?: string; status?: number } & Error, _req: Request, res: Response, next: NextFunction) => {
    let api: ApiError | undefined;
    if (err.type === 'entity.too.large') api = tooLarge('request_too_large', `the request body is larger than the limit of ${limit.toLocaleString('en-US')} bytes`);
    else if (err.type === 'entity.parse.failed') api = badRequest('invalid_json', 'We could not parse the JSON body of your request. The body must be valid JSON.');
    else if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') api = new ApiError(415, 'invalid_request_error', 'unsupported_media_type', err.message);
    else if (err.type === 'request.aborted') return res.end();
    if (!api) return next(err);
    for (const [k, v] of Object.entries(api.headers)) res.setHeader(k, v);
    res.status(api.status).json(api.body());
  };
}
