import { Controller, Get, HttpCode, Inject, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import type { BatchApi } from '@ivl/batch';
import { badRequest } from '@ivl/openai-api';
import { ApiGuard } from './api.guard';
import { principalOf, requireJson } from './request-context';
import { BATCH_API } from './tokens';

/** The Batch API: each line of the input file becomes a queue job; results come back as output/error files. */
@Controller('v1/batches')
@UseGuards(ApiGuard)
export class BatchesController {
  constructor(@Inject(BATCH_API) private readonly api: BatchApi) {}

  @Post()
  @HttpCode(200)
  create(@Req() req: Request) {
    requireJson(req);
    return this.api.createBatch(req.body, principalOf(req).id);
  }

  @Get()
  list(@Req() req: Request, @Query('limit') limit?: string, @Query('after') after?: string) {
    const n = limit === undefined ? 20 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw badRequest('invalid_value', 'limit must be an integer between 1 and 100', 'limit');
    return this.api.listBatches(principalOf(req).id, n, after);
  }

  @Get(':id')
  get(@Req() req: Request, @Param('id') id: string) {
    return this.api.batch(id, principalOf(req).id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Req() req: Request, @Param('id') id: string) {
    return this.api.cancelBatch(id, principalOf(req).id);
  }
}
