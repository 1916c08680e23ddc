import { IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** The longest stall of this thread's event loop since the last reset, from a 20 ms-resolution delay histogram. */
export class OwnLoopLag {
  private static readonly RESOLUTION_MS = 20;
  private readonly h: IntervalHistogram = monitorEventLoopDelay({ resolution: OwnLoopLag.RESOLUTION_MS });

  constructor() {
    this.h.enable();
  }

  reset(): void {
    this.h.reset();
  }

  /** Milliseconds the loop was late beyond the sampling interval (0 when it kept up). */
  maxMs(): number {
    if (!this.h.count) return 0;
    return Math.max(0, this.h.max / 1e6 - OwnLoopLag.RESOLUTION_MS);
  }

  stop(): void {
    this.h.disable();
  }
}
