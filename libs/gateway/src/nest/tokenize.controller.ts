import { Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { DetokenizeRequestSchema, TokenizeRequestSchema, badRequest, chatInputFromOpenAI, encodeRawPrompt, encoderOf, notFound, parseBody, tokenizeChat, tokenizing } from '@ivl/openai-api';
import type { GatewayServices } from '../services/gateway-services';
import { ApiGuard } from './api.guard';
import { requireJson } from './request-context';
import { SERVICES } from './tokens';

/** vLLM's /tokenize and /detokenize: the exact ids the worker would run, and text back from ids. */
@Controller()
@UseGuards(ApiGuard)
export class TokenizeController {
  constructor(@Inject(SERVICES) private readonly s: GatewayServices) {}

  @Post('tokenize')
  @HttpCode(200)
  async tokenize(@Req() req: Request) {
    requireJson(req);
    const r = parseBody(TokenizeRequestSchema, req.body);
    this.checkModel(r.model);
    const tok = this.s.model.tokenizer;
    let tokens: number[];
    const ctx = this.s.prepareContext;
    if ('prompt' in r) tokens = await encodeRawPrompt(r.prompt, ctx);
    else {
      // The chat template always ends with the open assistant turn (InternVL's chat() has no other form).
      const body = req.body as Record<string, unknown>;
      const input = chatInputFromOpenAI({ model: this.s.model.names[0], messages: body.messages, tools: body.tools, max_dynamic_patch: body.max_dynamic_patch });
      tokens = await tokenizeChat(input, ctx);
    }
    return {
      count: tokens.length,
      max_model_len: this.s.model.contextLength,
      tokens,
      ...(r.return_token_strs ? { token_strs: tokens.map((t) => tok.idToToken(t) ?? '') } : {}),
    };
  }

  @Post('detokenize')
  @HttpCode(200)
  async detokenize(@Req() req: Request) {
    requireJson(req);
    const r = parseBody(DetokenizeRequestSchema, req.body);
    this.checkModel(r.model);
    const tok = this.s.model.tokenizer;
    const bad = r.tokens.findIndex((t) => t >= tok.vocabSize);
    if (bad >= 0) throw badRequest('invalid_value', `token id ${r.tokens[bad]} is not in the vocabulary (size ${tok.vocabSize})`, `tokens[${bad}]`);
    return { prompt: await tokenizing(() => encoderOf(this.s.prepareContext).decode(r.tokens), 'tokens') };
  }

  private checkModel(model: string | null | undefined): void {
    if (model != null && !this.s.model.names.includes(model)) throw notFound('model_not_found', `The model \`${model}\` does not exist.`, 'model');
  }
}
