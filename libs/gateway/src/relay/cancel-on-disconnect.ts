import type { ServerResponse } from 'node:http';
import type { Principal } from '@ivl/client-grpc';
import type { GatewayServices } from '../services/gateway-services';

/**
 * Ties a job to its HTTP response: if the client goes away, the request times out, or the gateway's shutdown grace
 * ends before the answer is complete, the token stream is aborted and the job cancelled, which frees its sequence in
 * the pipeline (work for a client that is gone is cancelled, never retried). With `resumeMs`, a disconnected stream
 * keeps its job that long, and a client that comes back with Last-Event-ID within it continues the same stream.
 */
export function cancelOnDisconnect(s: GatewayServices, jobId: string, who: Principal, res: ServerResponse, opts: { resumeMs?: number; timeoutMs?: number } = {}) {
  const abort = new AbortController();
  const detach = s.attach(jobId);
  let ended = false;
  let timedOut = false;
  let resumeTimer: NodeJS.Timeout | undefined;
  // Counted as in flight, so a shutdown waits for the cancel to reach Redis before it closes the connections.
  const cancel = () => {
    const done = s.track();
    s.cancel(jobId, who)
      .catch(() => undefined)
      .finally(done);
  };
  const cancelUnlessResumed = () => {
    resumeTimer = undefined;
    unhook();
    if (!s.isAttached(jobId)) cancel();
  };
  const stop = (graceful: boolean) => {
    if (abort.signal.aborted) return;
    abort.abort();
    detach();
    if (ended) return;
    const resumeMs = graceful ? (opts.resumeMs ?? 0) : 0;
    if (resumeMs <= 0) return cancel();
    // A resume attaches a new relay meanwhile; cancel only if none did (at once if the gateway shuts down first).
    resumeTimer = setTimeout(cancelUnlessResumed, resumeMs);
    resumeTimer.unref();
  };
  const onClose = () => stop(true);
  res.on('close', onClose);
  const unhook = s.onShutdown(() => {
    if (resumeTimer) {
      clearTimeout(resumeTimer);
      cancelUnlessResumed();
    } else stop(false);
  });
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        stop(false);
      }, opts.timeoutMs)
    : undefined;
  return {
    signal: abort.signal,
    abort: () => stop(false),
    /** The answer is complete: disconnecting from now on cancels nothing. */
    end: () => {
      ended = true;
    },
    get ended() {
      return ended;
    },
    get timedOut() {
      return timedOut;
    },
    dispose: () => {
      clearTimeout(timer);
      res.off('close', onClose);
      if (!abort.signal.aborted) detach();
      // A disconnected stream waiting for its resume keeps its shutdown hook until it is decided.
      if (!resumeTimer) unhook();
    },
  };
}
