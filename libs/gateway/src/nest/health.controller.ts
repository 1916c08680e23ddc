import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { PipelineReadiness } from '../services/readiness';
import type { GatewayServices } from '../services/gateway-services';
import { SERVICES } from './tokens';

/** Probes, without auth: liveness of the process, readiness of the cluster behind it. */
@Controller()
export class HealthController {
  constructor(@Inject(SERVICES) private readonly s: GatewayServices) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res() res: Response) {
    const redis = await this.s.client.ping();
    const pipelines = redis ? await this.s.readiness.pipelines().catch(() => []) : [];
    const now = Date.now();
    const live = pipelines.filter((p) => PipelineReadiness.live(p, now));
    const ready = redis && live.length > 0 && !this.s.draining;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      redis,
      draining: this.s.draining,
      pipelines: pipelines.map((p) => ({ id: p.id, ready: PipelineReadiness.live(p, now), stages: p.stages, updatedAt: p.updatedAt })),
    });
  }
}
