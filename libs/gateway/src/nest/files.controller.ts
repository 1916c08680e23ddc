import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req, Res, UploadedFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import type { BatchApi } from '@ivl/batch';
import { badRequest } from '@ivl/openai-api';
import { ApiGuard } from './api.guard';
import { principalOf } from './request-context';
import { BATCH_API } from './tokens';

/** The part of multer's file object we use (memory storage). */
interface UploadedBlob {
  originalname: string;
  buffer: Buffer;
}

/** The Files API, for batch input (purpose "batch") and the batch output/error files. */
@Controller('v1/files')
@UseGuards(ApiGuard)
export class FilesController {
  constructor(@Inject(BATCH_API) private readonly api: BatchApi) {}

  @Post()
  @HttpCode(200)
  @UseInterceptors(FileInterceptor('file'))
  upload(@Req() req: Request, @UploadedFile() file: UploadedBlob | undefined) {
    if (!file) throw badRequest('missing_required_parameter', "'file' is required (multipart/form-data with a file field and a purpose field)", 'file');
    return this.api.uploadFile({ filename: file.originalname, data: file.buffer, purpose: (req.body as Record<string, unknown> | undefined)?.purpose }, principalOf(req).id);
  }

  @Get()
  async list(@Req() req: Request, @Query('purpose') purpose?: string) {
    return { object: 'list', data: await this.api.files.list(principalOf(req).id, { purpose }), has_more: false };
  }

  @Get(':id')
  get(@Req() req: Request, @Param('id') id: string) {
    return this.api.file(id, principalOf(req).id);
  }

  @Get(':id/content')
  async content(@Req() req: Request, @Res() res: Response, @Param('id') id: string) {
    const f = await this.api.file(id, principalOf(req).id);
    const data = await this.api.fileContent(id, principalOf(req).id);
    res.status(200).type('application/jsonl').setHeader('Content-Disposition', `attachment; filename="${f.filename.replace(/"/g, '')}"`);
    res.send(data);
  }

  @Delete(':id')
  remove(@Req() req: Request, @Param('id') id: string) {
    return this.api.deleteFile(id, principalOf(req).id);
  }
}
