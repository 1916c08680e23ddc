import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer } from '@ivl/local-cluster';
import { freshCacheDir, tinyCheckpoint } from '@ivl/test-support';
import { CLI, ivl } from '../support/cli';

/**
 * The CLI contract: every command in the README's CLI table, run as a real process, exits by itself (never a hang)
 * within a bound: 0 on success, non-zero with one clear line (no stack trace) on failure. Long-running commands
 * (up, worker, gateway) must come up and then stop by themselves on SIGTERM/SIGINT within a bound.
 */
const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const tableCommands = [...README.matchAll(/^\| `ivl ([a-z-]+)/gm)].map((m) => m[1]);
const BOUND_MS = 60_000;

const expectOneLineFailure = (r: { status: number | null; stderr: string }) => {
  expect(r.status, 'exited by itself').not.toBeNull();
  expect(r.status).not.toBe(0);
  const lines = r.stderr.trim().split('\n').filter((l) => !/^npm warn/.test(l));
  expect(lines.length, r.stderr).toBeLessThanOrEqual(2); // the reason (commander may add its help hint)
  expect(r.stderr).not.toMatch(/\n\s+at /);
};

/** Starts a long-running command, waits for `ready` in its output, signals it and measures how it ends. */
function serveThenSignal(args: string[], ready: RegExp, signal: NodeJS.Signals, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; ms: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let signalled = 0;
    const giveUp = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${args[0]} did not ${signalled ? 'exit after the signal' : 'come up'} within ${BOUND_MS} ms:\n${out}`));
    }, BOUND_MS);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!signalled && ready.test(out)) {
        signalled = Date.now();
        p.kill(signal);
      }
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    p.on('exit', (code) => {
      clearTimeout(giveUp);
      resolve({ code, ms: signalled ? Date.now() - signalled : -1, out });
    });
  });
}

describe('the CLI contract (every README command as a real process)', () => {
  const model = tinyCheckpoint('tiny');
  const cacheDir = freshCacheDir('contract');
  const dir = mkdtempSync(join(tmpdir(), 'contract-'));
  const env = { IVL_CACHE_DIR: cacheDir };
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(() => redis?.proc.kill());

  it('the README table lists the commands this test covers', () => {
    expect(tableCommands.sort()).toEqual(['chat', 'convert', 'forward', 'gateway', 'generate', 'make-model', 'up', 'worker']);
  });

  it('make-model: 0 on success, one line on failure', () => {
    expect(ivl(['make-model', '--preset', 'tiny', '--out', join(dir, 'm')], { env, timeoutMs: BOUND_MS }).status).toBe(0);
    expectOneLineFailure(ivl(['make-model', '--preset', 'huge', '--out', join(dir, 'x')], { env, timeoutMs: BOUND_MS }));
  });

  it('convert: 0 on success, one line on failure', () => {
    expect(ivl(['convert', '--model', model, '--dtype', 'fp32', '--out', join(dir, 'bundle')], { env, timeoutMs: BOUND_MS }).status).toBe(0);
    expectOneLineFailure(ivl(['convert', '--model', dir, '--dtype', 'fp32', '--out', join(dir, 'b2')], { env, timeoutMs: BOUND_MS }));
  });

  it('forward: 0 on success, one line on failure', () => {
    const ok = ivl(['forward', '--model', model, '--prompt', 'Hi', '--max-new-tokens', '2', '--json', join(dir, 'f.json')], { env, timeoutMs: BOUND_MS });
    expect(ok.status, ok.stderr).toBe(0);
    expectOneLineFailure(ivl(['forward', '--model', model, '--prompt', 'Hi', '--temperature', '-1'], { env, timeoutMs: BOUND_MS }));
  });

  it('chat: 0 on success (one prompt, and an interactive session ended by /exit or end of input), one line on failure', () => {
    expect(ivl(['chat', '--model', model, '--prompt', 'Hi', '--max-new-tokens', '2'], { env, timeoutMs: BOUND_MS }).status).toBe(0);
    expect(ivl(['chat', '--model', model, '--max-new-tokens', '2'], { env, input: 'Hello\n/exit\n', timeoutMs: BOUND_MS }).status).toBe(0);
    expect(ivl(['chat', '--model', model, '--max-new-tokens', '2'], { env, input: 'Hello\n', timeoutMs: BOUND_MS }).status).toBe(0);
    expectOneLineFailure(ivl(['chat', '--model', join(dir, 'nope'), '--prompt', 'Hi'], { env, timeoutMs: BOUND_MS }));
  });

  it('generate: exits by itself after the answer; a job nobody serves ends at --timeout with one line; no Redis is one line', () => {
    // Nobody consumes this queue prefix: the job waits in the queue until the deadline, which covers queue time.
    const t0 = Date.now();
    const waiting = ivl(['generate', '--redis', redis.url, '--queue-prefix', 'nobody', '--prompt', 'Hi', '--timeout', '2'], { env, timeoutMs: BOUND_MS });
    expectOneLineFailure({ ...waiting, stderr: waiting.stderr.replace(/^job .*\n/, '') });
    expect(waiting.stderr).toMatch(/no answer within 2 s; the job was cancelled/);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expectOneLineFailure(ivl(['generate', '--redis', 'redis://127.0.0.1:1', '--prompt', 'Hi'], { env, timeoutMs: BOUND_MS }));
    // The success path (an answer from a real cluster, then exit 0 by itself) is in the `up` test below.
  });

  it('up: serves `ivl generate` (which exits by itself), and stops everything on SIGINT within the bound', async () => {
    const port = await freePort();
    const grpcPort = await freePort();
    const p = spawn(process.execPath, [CLI, 'up', '--model', model, '--stages', '2', '--redis', redis.url, '--queue-prefix', 'contract-up', '--port', String(port), '--grpc-port', String(grpcPort), '--threads', '1'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d.toString()));
    p.stderr.on('data', (d) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    try {
      await expect.poll(() => /Ctrl-C stops everything/.test(out), { timeout: BOUND_MS, interval: 200 }).toBe(true);
      // Loopback only by default.
      expect(out).toMatch(new RegExp(`http://127\\.0\\.0\\.1:${port}/v1`));
      const t0 = Date.now();
      const gen = ivl(['generate', '--redis', redis.url, '--queue-prefix', 'contract-up', '--prompt', 'Hello', '--max-new-tokens', '4'], { env, timeoutMs: BOUND_MS });
      expect(gen.status, gen.stderr).toBe(0);
      expect(gen.stderr).toMatch(/finish_reason (length|stop)/);
      expect(Date.now() - t0, 'generate exits right after its answer').toBeLessThan(20_000);
    } finally {
      const t1 = Date.now();
      p.kill('SIGINT');
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), BOUND_MS))]);
      if (code === 'hung') p.kill('SIGKILL');
      expect(code).toBe(0);
      expect(Date.now() - t1).toBeLessThan(BOUND_MS);
    }
  });

  it('npm start (tools/quickstart.mjs, the README quickstart): the whole cluster comes up, answers /healthz, and stops on SIGINT within the bound', async () => {
    const port = await freePort();
    const quickstart = join(dirname(CLI), '..', 'tools', 'quickstart.mjs');
    const args = ['--redis', redis.url, '--queue-prefix', 'contract-start', '--port', String(port), '--grpc-port', String(await freePort()), '--threads', '1'];
    const p = spawn(process.execPath, [quickstart, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d.toString()));
    p.stderr.on('data', (d) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    try {
      await expect.poll(() => /Ctrl-C stops everything/.test(out), { timeout: 2 * BOUND_MS, interval: 200 }).toBe(true);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status, out).toBe(200);
    } finally {
      const t1 = Date.now();
      p.kill('SIGINT');
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), BOUND_MS))]);
      if (code === 'hung') p.kill('SIGKILL');
      expect(code, out).toBe(0);
      expect(Date.now() - t1).toBeLessThan(BOUND_MS);
    }
  });

  it('gateway: comes up and stops on SIGTERM within the bound; a bad flag is one line', async () => {
    const port = await freePort();
    const r = await serveThenSignal(['gateway', '--model', model, '--redis', redis.url, '--port', String(port)], /serving .* on http:/, 'SIGTERM', env);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`http://127\\.0\\.0\\.1:${port}`));
    expectOneLineFailure(ivl(['gateway', '--model', model, '--port', 'seventy'], { env, timeoutMs: BOUND_MS }));
  });

  it('worker: comes up and stops on SIGTERM within the bound; a bad plan or --vision-parts is one line', async () => {
    const port = await freePort();
    const metrics = await freePort();
    const r = await serveThenSignal(['worker', '--model', model, '--stage', '1', '--peers', `127.0.0.1:${await freePort()},127.0.0.1:${port}`, '--plan', 'card:2', '--threads', '1', '--metrics-port', String(metrics)], /serving on port/, 'SIGTERM', env);
    expect(r.code, r.out).toBe(0);
    expectOneLineFailure(ivl(['worker', '--model', model, '--stage', '0', '--peers', '127.0.0.1:1', '--plan', 'card:3'], { env, timeoutMs: BOUND_MS }));
    const badParts = ivl(['worker', '--model', model, '--stage', '0', '--peers', '127.0.0.1:1', '--plan', 'card:1', '--vision-parts', '0', '--metrics-port', '-1'], { env, timeoutMs: BOUND_MS });
    expectOneLineFailure(badParts);
    expect(badParts.stderr).toMatch(/--vision-parts must be a whole number/);
  });
});
