import { Controller, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { prepareCompletion, textCompletion } from '@ivl/openai-api';
import { awaitResults } from '../relay/complete-once';
import { streamTextCompletion } from '../relay/stream-text-completion';
import type { GatewayServices } from '../services/gateway-services';
import { ApiGuard } from './api.guard';
import { principalOf, requireJson } from './request-context';
import { SERVICES } from './tokens';

@Controller('v1')
@UseGuards(ApiGuard)
export class CompletionsController {
  constructor(@Inject(SERVICES) private readonly s: GatewayServices) {}

  /** POST /v1/completions: a raw prompt, no chat template (base-model style use and prompt engineering). */
  @Post('completions')
  @HttpCode(200)
  async create(@Req() req: Request, @Res() res: Response): Promise<void> {
    const done = this.s.track();
    try {
      requireJson(req);
      const who = principalOf(req);
      const p = await prepareCompletion(req.body, this.s.prepareContext);
      const ids = await this.s.enqueueChoices(p, who);
      if (p.stream) return await streamTextCompletion(this.s, p, ids, who, res);
      const results = await awaitResults(this.s, ids, who, res);
      if (!results || res.destroyed) return;
      const body = textCompletion(ids[0], p.model, Math.floor(Date.now() / 1000), results, { tokenizer: this.s.model.tokenizer, logprobs: p.logprobs, echo: p.echo ? p.prompt : undefined });
      res.setHeader('X-Request-Id', ids[0]).status(200).json(body);
    } finally {
      done();
    }
  }
}
