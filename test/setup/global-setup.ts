import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.setTimeout(1000);
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      resolve(d.toString().startsWith('+PONG'));
      s.destroy();
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      resolve(false);
      s.destroy();
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

let redis: ChildProcess | undefined;

/**
 * Builds dist/ once (tests that start processes or worker threads run the current code) and makes sure a Redis is
 * reachable: the machine's own on 6379, or a redis-server started here on a free port for the whole run.
 */
export default async function setup(): Promise<() => void> {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'tools', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (!process.env.IVL_TEST_REDIS) {
    if (await ping(6379)) process.env.IVL_TEST_REDIS = 'redis://127.0.0.1:6379';
    else {
      const port = await freePort();
      redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      for (let i = 0; i < 100 && !(await ping(port)); i++) await new Promise((r) => setTimeout(r, 50));
      if (!(await ping(port))) throw new Error('no Redis on 6379 and redis-server could not be started (apt-get install redis-server)');
      process.env.IVL_TEST_REDIS = `redis://127.0.0.1:${port}`;
    }
  }
  return () => {
    redis?.kill();
  };
}
