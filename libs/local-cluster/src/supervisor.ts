import { ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';

export interface ProcessSpec {
  name: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a child process and restarts it when it dies, as Kubernetes restarts a pod: the same arguments, a short
 * backoff, and a restart count. Emits 'exit' (name, code, signal) and 'restart' (name, count).
 */
export class Supervised extends EventEmitter {
  proc?: ChildProcess;
  restarts = 0;
  private stopping = false;
  private backoff = 200;

  constructor(readonly spec: ProcessSpec, private readonly onLine: (name: string, line: string) => void) {
    super();
    this.start();
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private start(): void {
    const p = spawn(process.execPath, this.spec.args, { env: { ...process.env, IVL_SUPERVISED: '1', ...this.spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    const started = Date.now();
    for (const stream of [p.stdout!, p.stderr!]) {
      let buf = '';
      stream.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          this.onLine(this.spec.name, buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    }
    p.once('exit', (code, signal) => {
      this.emit('exit', this.spec.name, code, signal);
      if (this.stopping) return;
      // A process that crashes right away backs off; one that ran a while restarts quickly.
      this.backoff = Date.now() - started > 10_000 ? 200 : Math.min(this.backoff * 2, 5000);
      setTimeout(() => {
        if (this.stopping) return;
        this.restarts++;
        this.emit('restart', this.spec.name, this.restarts);
        this.start();
      }, this.backoff);
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.proc?.kill(signal);
  }

  /** Stops for good: SIGTERM (the worker drains), then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      p.kill('SIGTERM');
    });
  }
}
