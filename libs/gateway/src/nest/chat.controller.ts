import { Controller, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { chatInputFromOpenAI, notFound } from '@ivl/openai-api';
import { completeOnce } from '../relay/complete-once';
import { parseLastEventId, streamCompletion } from '../relay/stream-completion';
import type { GatewayServices } from '../services/gateway-services';
import { ApiGuard } from './api.guard';
import { principalOf, requireJson } from './request-context';
import { SERVICES } from './tokens';

@Controller('v1')
@UseGuards(ApiGuard)
export class ChatController {
  constructor(@Inject(SERVICES) private readonly s: GatewayServices) {}

  /** POST /v1/chat/completions: validated, counted and admitted before anything is queued. */
  @Post('chat/completions')
  @HttpCode(200)
  async create(@Req() req: Request, @Res() res: Response): Promise<void> {
    const done = this.s.track();
    try {
      requireJson(req);
      const who = principalOf(req);
      const prepared = await this.s.prepare(chatInputFromOpenAI(req.body));
      // A streaming client reconnecting with the SSE id it saw last continues that answer instead of starting anew.
      const resume = prepared.stream ? parseLastEventId(req.get('last-event-id')) : undefined;
      if (resume) {
        if (!(await this.s.jobs.get(resume.jobId, who))) throw notFound('job_not_found', `Last-Event-ID names no stream of yours (${resume.jobId})`, 'Last-Event-ID');
        return await streamCompletion(this.s, prepared, [resume.jobId], who, res, resume.entryId);
      }
      const jobIds = await this.s.enqueueChoices(prepared, who);
      if (prepared.stream) return await streamCompletion(this.s, prepared, jobIds, who, res);
      const body = await completeOnce(this.s, prepared, jobIds, who, res);
      if (body && !res.destroyed) res.setHeader('X-Request-Id', jobIds[0]).status(200).json(body);
    } finally {
      done();
    }
  }
}
