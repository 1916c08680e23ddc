import { afterEach, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { HealthReplyMsg, startStageServer } from '@ivl/pipeline';
import { RingMonitor } from './ring-monitor';

const expectation = { modelId: 'm', plan: 'card:2', numStages: 2 };
const healthOf = (stage: number): HealthReplyMsg => ({
  status: 'SERVING',
  stage,
  num_stages: 2,
  plan: 'card:2',
  dtype: 'float32',
  layers: [],
  kv_capacity_tokens: 1000,
  kv_used_tokens: 0,
  sequences: 0,
  provider: 'cpu',
  downstream_connected: true,
  model_id: 'm',
  pipeline: 'p',
  instance_id: `i${stage}`,
});

/** Blocks this thread's event loop, as a large image tiled on it did. */
function busyFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

/**
 * A real stage-1 gRPC server that answers Health (no model behind it: only Health is called). It runs on this test's
 * thread, so `stallNext` blocks the loop while a health call is in flight, as a large image on stage 0 did.
 */
async function startPeer(): Promise<{ server: grpc.Server; target: string; stallNext: (ms: number) => void }> {
  let stall = 0;
  const { server, port } = await startStageServer('127.0.0.1:0', {
    hidden: 8,
    dtype: 'FLOAT32',
    onBatch: async () => undefined,
    release: async () => 0,
    health: async () => {
      busyFor(stall);
      stall = 0;
      return healthOf(1);
    },
  });
  return { server, target: `127.0.0.1:${port}`, stallNext: (ms) => (stall = ms) };
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; !ok(); i++) {
    if (i > 200) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Three polls whose answer waits behind a stall of 3× the 200 ms deadline. */
async function stallThreePolls(peer: { stallNext: (ms: number) => void }): Promise<void> {
  for (let k = 0; k < 3; k++) {
    peer.stallNext(600);
    await new Promise((r) => setTimeout(r, 400));
  }
}

describe('RingMonitor', () => {
  let monitor: RingMonitor | undefined;
  let server: grpc.Server | undefined;
  afterEach(() => {
    monitor?.stop();
    server?.forceShutdown();
  });

  it('does not break the ring when its own event loop stalls past the health deadline, but does when the peer is gone', async () => {
    const peer = await startPeer();
    server = peer.server;
    monitor = new RingMonitor(['self', peer.target], expectation, () => healthOf(0), 100, 200);
    const events: string[] = [];
    monitor.on('broken', (r: string) => events.push(`broken: ${r}`));
    monitor.on('whole', () => events.push('whole'));
    monitor.on('doubt', () => events.push('doubt'));
    monitor.start();
    await until('the ring is whole', () => monitor!.view.whole);
    await stallThreePolls(peer);
    expect(events.filter((e) => e !== 'doubt')).toEqual(['whole']);
    expect(monitor.doubted).toBeGreaterThan(0);
    expect(monitor.view.whole).toBe(true);

    // The peer really goes away while our loop is calm: judged at once.
    server.forceShutdown();
    server = undefined;
    await until('the gone peer is noticed', () => !monitor!.view.whole);
    expect(events.at(-1)).toMatch(/^broken: stage 1 unreachable/);
  });

  it('(without the rule, the same stalls break the ring: the test above is not vacuous)', async () => {
    const peer = await startPeer();
    server = peer.server;
    monitor = new RingMonitor(['self', peer.target], expectation, () => healthOf(0), 100, 200, { toleranceMs: Infinity, maxDoubtMs: 0 });
    const broken: string[] = [];
    monitor.on('broken', (r: string) => broken.push(r));
    monitor.start();
    await until('the ring is whole', () => monitor!.view.whole);
    await stallThreePolls(peer);
    expect(broken[0]).toMatch(/stage 1 unreachable.*Deadline exceeded/);
  });

  it('believes misses that outlast maxDoubtMs even while its own loop keeps stalling', async () => {
    monitor = new RingMonitor(['self', '127.0.0.1:1'], expectation, () => healthOf(0), 50, 200, { toleranceMs: 100, maxDoubtMs: 600 });
    // Whole to start with, so that a break is an event.
    monitor.view = { whole: true, reason: 'whole', capacityTokens: 1000, stages: [] };
    const broken = new Promise<string>((r) => monitor!.once('broken', r));
    // The loop stalls for 150 ms of every 160 from before the first poll on.
    const stall = setInterval(() => busyFor(150), 10);
    await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    monitor.start();
    try {
      expect(await broken).toMatch(/stage 1 unreachable/);
    } finally {
      clearInterval(stall);
    }
    expect(monitor.doubted).toBeGreaterThan(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });
});
