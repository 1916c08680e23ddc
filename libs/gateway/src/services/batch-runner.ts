import type { BatchRunner } from '@ivl/batch';
import { type PreparedChat, badRequest, chatCompletion, chatInputFromOpenAI } from '@ivl/openai-api';
import type { GenerateJobResult } from '@ivl/queue';
import type { GatewayServices } from './gateway-services';

/**
 * Batch lines go through the same validation and counting as live requests, but skip admission (a batch may be
 * submitted while no pipeline is up; its jobs wait) and carry a BullMQ priority, so interactive requests, which
 * have none, are always served first.
 */
export function batchRunner(s: GatewayServices, priority: number): BatchRunner {
  return {
    prepare: async (body) => {
      const p = await s.prepare(chatInputFromOpenAI({ ...body, stream: false }));
      if (p.n > 1) throw badRequest('invalid_value', 'n > 1 is not supported in batch lines; write one line per choice', 'n');
      return p;
    },
    submit: async (prepared: PreparedChat, jobId: string) => {
      await s.client.submit(prepared.submit, { jobId, priority });
    },
    status: (jobId) => s.client.status(jobId),
    cancel: async (jobId) => {
      await s.client.cancel(jobId);
    },
    completion: (jobId: string, result: GenerateJobResult, prepared?: PreparedChat) =>
      chatCompletion(jobId, s.model.names[0], Math.floor(Date.now() / 1000), result, prepared && { tokenizer: s.model.tokenizer, logprobs: prepared.logprobs, tools: prepared.tools }),
  };
}
