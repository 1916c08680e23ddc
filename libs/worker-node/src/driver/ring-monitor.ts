import { EventEmitter } from 'node:events';
import { HealthReplyMsg, StageClient } from '@ivl/pipeline';
import { DEFAULT_MISSED_HEALTH_RULE, MissedHealthJudge, MissedHealthRule } from './missed-health';
import { OwnLoopLag } from './own-loop-lag';

export interface RingExpectation {
  modelId: string;
  plan: string;
  numStages: number;
}

export interface RingView {
  whole: boolean;
  reason: string;
  /** KV tokens the tightest stage can hold (this driver is the only one using them). */
  capacityTokens: number;
  stages: Array<HealthReplyMsg | { error: string }>;
}

/**
 * Polls every stage's Health. The ring is whole when every stage answers SERVING with the same model and plan and
 * is connected to its next stage. Emits 'broken' (with the reason) and 'whole' on transitions, so the driver fails
 * in-flight sequences fast and stops taking jobs until the ring is back. A stage that misses its health deadline
 * while this thread's own loop was stalled is not judged from that poll (see MissedHealthJudge): the monitor emits
 * 'doubt' and polls again at once.
 */
export class RingMonitor extends EventEmitter {
  private readonly clients: StageClient[];
  private timer?: NodeJS.Timeout;
  private readonly lag = new OwnLoopLag();
  private readonly judge: MissedHealthJudge;
  /** Polls whose misses were put down to our own busy loop. */
  doubted = 0;
  view: RingView = { whole: false, reason: 'not checked yet', capacityTokens: 0, stages: [] };

  constructor(
    peers: string[],
    private readonly expect: RingExpectation,
    private readonly local: () => HealthReplyMsg,
    private readonly intervalMs = 500,
    private readonly deadlineMs = 1000,
    rule: MissedHealthRule = DEFAULT_MISSED_HEALTH_RULE,
  ) {
    super();
    this.clients = peers.slice(1).map((p) => new StageClient(p));
    this.judge = new MissedHealthJudge(rule);
  }

  start(): void {
    const tick = async () => {
      const before = this.doubted;
      await this.poll();
      // A doubtful poll is repeated soon rather than after the interval.
      if (this.timer !== undefined) this.timer = setTimeout(tick, this.doubted > before ? Math.min(50, this.intervalMs) : this.intervalMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Marks the ring broken now (a link went down, a batch timed out) without waiting for the next poll. */
  breakNow(reason: string): void {
    this.update({ ...this.view, whole: false, reason });
  }

  /** One round of health checks; the view is left as it was when the round's misses are doubtful. */
  async poll(): Promise<RingView> {
    const stages: RingView['stages'] = [this.local()];
    const started = Date.now();
    this.lag.reset();
    const remote = await Promise.all(this.clients.map((c) => c.health(this.deadlineMs).catch((e: Error) => ({ error: `${c.target}: ${e.message.split('\n')[0]}` }))));
    stages.push(...remote);
    if (remote.some((h) => 'error' in h)) {
      // A stall that just ended is recorded by the histogram's next sample; a deadline timer that fired late shows
      // the stall too.
      await new Promise((r) => setImmediate(r));
      const ownLagMs = Math.max(this.lag.maxMs(), Date.now() - started - this.deadlineMs);
      if (!this.judge.isDown(ownLagMs)) {
        this.doubted++;
        this.emit('doubt', `a health check went unanswered while this stage's own event loop lagged ${Math.round(ownLagMs)} ms; checking again`);
        return this.view;
      }
    } else this.judge.answered();
    let reason = '';
    let capacity = Number.MAX_SAFE_INTEGER;
    stages.forEach((h, i) => {
      if (reason) return;
      if ('error' in h) reason = `stage ${i} unreachable (${h.error})`;
      else if (h.status !== 'SERVING') reason = `stage ${i} is ${h.status}`;
      else if (h.model_id !== this.expect.modelId) reason = `stage ${i} serves model ${h.model_id}, expected ${this.expect.modelId}`;
      else if (h.plan !== this.expect.plan || h.num_stages !== this.expect.numStages || h.stage !== i) reason = `stage ${i} runs ${h.plan} as stage ${h.stage}/${h.num_stages}`;
      else if (!h.downstream_connected) reason = `stage ${i} is not connected to the next stage`;
      else capacity = Math.min(capacity, h.kv_capacity_tokens);
    });
    const view = { whole: !reason, reason: reason || 'whole', capacityTokens: reason ? 0 : capacity, stages };
    this.update(view);
    return view;
  }

  private update(v: RingView): void {
    const was = this.view.whole;
    this.view = v;
    if (was && !v.whole) this.emit('broken', v.reason);
    if (!was && v.whole) this.emit('whole');
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lag.stop();
    this.clients.forEach((c) => c.close());
  }
}
