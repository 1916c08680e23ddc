import { createServer, createConnection } from 'node:net';
import { ActivationBatch, RingLink, startStageServer } from '@ivl/pipeline';

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * Our stage transport on loopback without any model: two relay stages in a ring (A → B → A) over the real
 * Forward streams, codec and chunking. Decode-sized round trips (one 2048-wide fp32 row) and prefill-sized
 * batches (3,400 rows), next to raw TCP throughput on the same loopback.
 */
export async function benchHops(hidden = 2048): Promise<{ rttP50: number; rttP99: number; prefillMBs: number; tcpMBs: number }> {
  const waiting = new Map<string, (b: ActivationBatch) => void>();
  const a = await startStageServer('127.0.0.1:0', { hidden, dtype: 'FLOAT32', onBatch: async (b) => waiting.get(b.batchId)?.(b), release: async () => 0, health: async () => ({}) as never });
  const relay: { back?: RingLink } = {};
  const b = await startStageServer('127.0.0.1:0', {
    hidden,
    dtype: 'FLOAT32',
    onBatch: async (x) => relay.back!.send(x),
    release: async () => 0,
    health: async () => ({}) as never,
  });
  const back = new RingLink(`127.0.0.1:${a.port}`);
  relay.back = back;
  const out = new RingLink(`127.0.0.1:${b.port}`);
  for (let i = 0; i < 200 && !(out.connected && back.connected); i++) await new Promise((r) => setTimeout(r, 20));
  let n = 0;
  const trip = async (rows: number) => {
    const id = `h${n++}`;
    const got = new Promise<ActivationBatch>((r) => waiting.set(id, r));
    const t0 = performance.now();
    await out.send({ batchId: id, spans: [{ seq: 's', start: 0, length: rows }], data: new Float32Array(rows * hidden), hidden, trace: {}, forwardMs: {}, sentAtMs: 0, wireBytes: 0 });
    await got;
    waiting.delete(id);
    return performance.now() - t0;
  };
  for (let i = 0; i < 50; i++) await trip(1);
  const rtts: number[] = [];
  for (let i = 0; i < 1000; i++) rtts.push(await trip(1));
  // Prefill: a round trip carries the batch twice (A → B → A), so bytes moved = 2 × size.
  const prefill: number[] = [];
  for (let i = 0; i < 6; i++) prefill.push(await trip(3400));
  const bytes = 2 * 3400 * hidden * 4;
  const prefillMBs = bytes / 1e6 / (percentile(prefill, 50) / 1000);
  out.close();
  back.close();
  a.server.forceShutdown();
  b.server.forceShutdown();
  return { rttP50: percentile(rtts, 50), rttP99: percentile(rtts, 99), prefillMBs, tcpMBs: await rawTcpMBs(256 * 2 ** 20) };
}

/** Raw loopback TCP: one process streams `total` bytes to a sink and back-to-back timing gives MB/s. */
async function rawTcpMBs(total: number): Promise<number> {
  const server = createServer((s) => s.on('data', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const chunk = Buffer.alloc(1 << 20);
  const sock = createConnection({ host: '127.0.0.1', port });
  await new Promise((r) => sock.once('connect', r));
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += chunk.length) if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  await new Promise<void>((r) => sock.end(r));
  const ms = performance.now() - t0;
  server.close();
  return total / 1e6 / (ms / 1000);
}
