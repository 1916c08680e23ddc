import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import { notFound } from '@ivl/openai-api';
import type { GatewayServices } from '../services/gateway-services';
import { ApiGuard } from './api.guard';
import { SERVICES } from './tokens';

@Controller('v1/models')
@UseGuards(ApiGuard)
export class ModelsController {
  constructor(@Inject(SERVICES) private readonly s: GatewayServices) {}

  @Get()
  list() {
    return { object: 'list', data: this.s.models() };
  }

  @Get(':model')
  one(@Param('model') id: string) {
    const m = this.s.models().find((x) => x.id === id);
    if (!m) throw notFound('model_not_found', `The model \`${id}\` does not exist.`, 'model');
    return m;
  }
}
