import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { GatewayServices } from '../services/gateway-services';
import type { AuthedRequest } from './request-context';
import { SERVICES } from './tokens';

/** Every /v1 route: a valid Bearer key (when keys are configured), then the key's rate limit, with OpenAI's headers. */
@Injectable()
export class ApiGuard implements CanActivate {
  constructor(@Inject(SERVICES) private readonly s: GatewayServices) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<Request>();
    const res = ctx.switchToHttp().getResponse<Response>();
    const who = this.s.authenticate(req.headers.authorization);
    (req as AuthedRequest).principal = who;
    const rate = await this.s.admit(who);
    if (rate) {
      res.setHeader('x-ratelimit-limit-requests', String(rate.limit));
      res.setHeader('x-ratelimit-remaining-requests', String(rate.remaining));
      res.setHeader('x-ratelimit-reset-requests', `${Math.ceil(rate.resetMs / 1000)}s`);
    }
    return true;
  }
}
