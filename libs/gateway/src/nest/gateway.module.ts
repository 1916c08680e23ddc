import { type DynamicModule, Module } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import type { BatchApi } from '@ivl/batch';
import type { GatewayServices } from '../services/gateway-services';
import { ApiGuard } from './api.guard';
import { BatchesController } from './batches.controller';
import { ChatController } from './chat.controller';
import { CompletionsController } from './completions.controller';
import { DocsController } from './docs.controller';
import { FilesController } from './files.controller';
import { HealthController } from './health.controller';
import { ModelsController } from './models.controller';
import { TokenizeController } from './tokenize.controller';
import { BATCH_API, OPENAPI_DOC, SERVICES } from './tokens';

/** Wiring only: the services are built (and owned) by startGateway and handed in as values. */
@Module({})
export class GatewayModule {
  static forRoot(services: GatewayServices, batchApi: BatchApi, openapi: unknown): DynamicModule {
    return {
      module: GatewayModule,
      // Uploads are kept in memory (they go to Redis next); the size limit makes multer answer 413.
      imports: [MulterModule.register({ limits: { fileSize: services.limits.maxFileBytes, files: 1 } })],
      controllers: [ChatController, CompletionsController, TokenizeController, ModelsController, FilesController, BatchesController, HealthController, DocsController],
      providers: [
        { provide: SERVICES, useValue: services },
        { provide: BATCH_API, useValue: batchApi },
        { provide: OPENAPI_DOC, useValue: openapi },
        ApiGuard,
      ],
    };
  }
}
