import type * as grpc from '@grpc/grpc-js';
import { notFound } from '@ivl/openai-api';
import type { FinishReason } from '@ivl/queue';
import type { JobView, Principal, ServingBackend } from './backend';
import { type ProtoGenerateRequest, chatInputFromProto } from './from-proto';
import { toServiceError } from './status-map';

const FINISH: Record<FinishReason, string> = { stop: 'STOP', length: 'LENGTH', cancelled: 'CANCELLED', error: 'ERROR' };
const STATES: Record<JobView['state'], string> = { queued: 'QUEUED', running: 'RUNNING', completed: 'COMPLETED', failed: 'FAILED', cancelled: 'CANCELLED' };

const usage = (prompt: number, completion: number, cached = 0) => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, cached_tokens: cached });

function caller(backend: ServingBackend, call: { metadata: grpc.Metadata; getPeer(): string }): Principal {
  const auth = call.metadata.get('authorization')[0];
  return backend.authenticate(typeof auth === 'string' ? auth : auth?.toString(), call.getPeer());
}

function unary<Req, Res>(backend: ServingBackend, fn: (req: Req, who: Principal) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const done = backend.track();
    (async () => {
      // Every call counts against the caller's rate limit, as every /v1 request does over REST.
      const who = caller(backend, call);
      await backend.admit(who);
      return fn(call.request, who);
    })()
      .then((res) => callback(null, res))
      .catch((e) => callback(toServiceError(e)))
      .finally(done);
  };
}

/** Handlers of ivl.serving.v1.Serving over a ServingBackend. */
export function servingHandlers(backend: ServingBackend): grpc.UntypedServiceImplementation {
  const generate: grpc.handleServerStreamingCall<ProtoGenerateRequest, unknown> = (call) => {
    const done = backend.track();
    const abort = new AbortController();
    let jobId: string | undefined;
    let who: Principal | undefined;
    let finished = false;
    // The caller went away (or cancelled the RPC): stop the job so its sequence is freed at once.
    call.on('cancelled', () => {
      abort.abort();
      if (!finished && jobId && who) backend.cancel(jobId, who).catch(() => undefined);
    });
    (async () => {
      who = caller(backend, call);
      await backend.admit(who);
      const prepared = await backend.prepare(chatInputFromProto(call.request));
      jobId = await backend.enqueue(prepared, who);
      if (call.cancelled) {
        await backend.cancel(jobId, who);
        return;
      }
      await write(call, { started: { job_id: jobId, model: prepared.model, prompt_tokens: prepared.promptTokens } });
      let completion = 0;
      for await (const e of backend.stream(jobId, abort.signal)) {
        if (call.cancelled) break;
        if (e.kind === 'tokens') {
          completion += e.tokens.length;
          await write(call, { delta: { text: e.delta, token_ids: e.tokens } });
        } else {
          finished = true;
          await write(call, { finished: { finish_reason: FINISH[e.finishReason], usage: usage(prepared.promptTokens, completion, e.cachedTokens), error: e.error ?? '' } });
        }
      }
      if (!call.cancelled) call.end();
    })()
      .catch((e) => {
        if (!call.cancelled) call.emit('error', toServiceError(e));
      })
      .finally(done);
  };

  return {
    Generate: generate,
    Submit: unary<ProtoGenerateRequest, unknown>(backend, async (req, who) => {
      const prepared = await backend.prepare(chatInputFromProto(req));
      const jobId = await backend.enqueue(prepared, who);
      return { job_id: jobId, prompt_tokens: prepared.promptTokens };
    }),
    GetJob: unary<{ job_id?: string }, unknown>(backend, async (req, who) => {
      if (!req.job_id) throw notFound('job_not_found', 'job_id is required', 'job_id');
      const j = await backend.getJob(req.job_id, who);
      return {
        job_id: j.jobId,
        state: STATES[j.state],
        text: j.text ?? '',
        finish_reason: j.finishReason ? FINISH[j.finishReason] : 'FINISH_REASON_UNSPECIFIED',
        usage: j.promptTokens !== undefined ? usage(j.promptTokens, j.completionTokens ?? 0, j.cachedTokens) : undefined,
        error: j.error ?? '',
      };
    }),
    CancelJob: unary<{ job_id?: string }, unknown>(backend, async (req, who) => {
      if (!req.job_id) throw notFound('job_not_found', 'job_id is required', 'job_id');
      return { cancelled: await backend.cancel(req.job_id, who) };
    }),
    ListModels: unary<unknown, unknown>(backend, async () => ({
      models: backend.models().map((m) => ({ id: m.id, owned_by: m.owned_by, created: m.created, max_model_len: m.max_model_len })),
    })),
  };
}

/**
 * Writes with backpressure: a slow reader slows the relay instead of growing a buffer. grpc-js emits no 'drain'
 * once a call is cancelled, so the wait also ends on cancel, close or error (the relay then stops).
 */
function write(call: grpc.ServerWritableStream<unknown, unknown>, msg: unknown): Promise<void> {
  if (call.cancelled || call.destroyed) return Promise.resolve();
  if (call.write(msg)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      call.off('error', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
    call.on('error', done);
  });
}
