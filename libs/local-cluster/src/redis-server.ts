import { ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './ports';

export function redisReachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = createConnection({ host: u.hostname, port: Number(u.port || 6379) });
    s.setTimeout(timeoutMs);
    s.once('connect', () => s.write(u.password ? `AUTH ${u.password}\r\nPING\r\n` : 'PING\r\n'));
    s.on('data', (d) => {
      if (d.toString().includes('+PONG')) {
        resolve(true);
        s.destroy();
      }
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      resolve(false);
      s.destroy();
    });
  });
}

/**
 * A throwaway redis-server for a local cluster (no persistence), on a free port. `port` and `extraArgs` (later
 * flags win, e.g. `--appendonly yes --dir D`) let a test restart a server with its data on the same address.
 */
export async function startRedisServer(o: { port?: number; extraArgs?: string[] } = {}): Promise<{ url: string; proc: ChildProcess }> {
  const port = o.port ?? (await freePort());
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(o.extraArgs ?? [])], { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) => proc.once('error', (e) => reject(new Error(`cannot start redis-server (${e.message}); install it (apt-get install redis-server) or pass --redis URL`))));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await Promise.race([redisReachable(url, 200), failed]);
    if (ok) return { url, proc };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill();
  throw new Error('redis-server did not start');
}
