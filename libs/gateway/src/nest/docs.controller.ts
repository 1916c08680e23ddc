import { Controller, Get, Header, Inject } from '@nestjs/common';
import { OPENAPI_DOC } from './tokens';

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>ivl-cluster API</title><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });</script></body></html>`;

/** OpenAPI document at /openapi.json (as vLLM serves it) and Swagger UI at /docs; no auth, like the anchors. */
@Controller()
export class DocsController {
  constructor(@Inject(OPENAPI_DOC) private readonly doc: unknown) {}

  @Get('openapi.json')
  openapi() {
    return this.doc;
  }

  @Get('docs')
  @Header('Content-Type', 'text/html; charset=utf-8')
  page() {
    return PAGE;
  }
}
