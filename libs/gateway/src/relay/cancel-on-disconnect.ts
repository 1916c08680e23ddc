import type { ServerResponse } from 'node:http';
import type { Principal } from '@ivl/client-grpc';
import type { GatewayServices } from '../services/gateway-services';

/**
 * Ties a job to its HTTP response: if the client goes away (or the gateway's shutdown grace ends) before the answer
 * is complete, the token stream is aborted and the job cancelled, which frees its sequence in the pipeline.
 */
export function cancelOnDisconnect(s: GatewayServices, jobId: string, who: Principal, res: ServerResponse) {
  const abort = new AbortController();
  let ended = false;
  const stop = () => {
    if (ended) return;
    abort.abort();
    s.cancel(jobId, who).catch(() => undefined);
  };
  res.on('close', stop);
  s.shutdown.signal.addEventListener('abort', stop, { once: true });
  return {
    signal: abort.signal,
    abort: () => abort.abort(),
    /** The answer is complete: disconnecting from now on cancels nothing. */
    end: () => {
      ended = true;
    },
    get ended() {
      return ended;
    },
    dispose: () => s.shutdown.signal.removeEventListener('abort', stop),
  };
}
