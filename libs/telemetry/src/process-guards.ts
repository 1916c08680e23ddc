/**
 * Last-resort handlers every ivl process installs at start. A rejected promise nobody awaited is logged with its
 * context and the process carries on (one request's failure must not end everyone's); an uncaught exception leaves
 * the process in an unknown state, so it is fatal: `beforeExit` reports the process as not serving (health checks,
 * the ring, the pipelines hash), then it exits non-zero for its supervisor (`ivl up`, Kubernetes) to restart it.
 */
export interface ProcessGuardOptions {
  name: string;
  log: (msg: string) => void;
  /** Runs once on a fatal error, before the exit; bounded by `fatalGraceMs`. */
  beforeExit?: (reason: string) => void | Promise<void>;
  fatalGraceMs?: number;
}

let installed: ProcessGuardOptions | undefined;
let exiting = false;

export function installProcessGuards(o: ProcessGuardOptions): void {
  const first = !installed;
  installed = o;
  if (!first) return;
  process.on('unhandledRejection', (reason) => {
    const g = installed!;
    g.log(`${g.name}: unhandled promise rejection (ignored, the process carries on): ${describe(reason)}`);
  });
  process.on('uncaughtException', (e, origin) => {
    void fatal(`uncaught exception (${origin}): ${describe(e)}`);
  });
}

/** Ends the process because it cannot continue: reports not-serving, logs the reason, exits with code 1. */
export async function fatal(reason: string): Promise<never> {
  const g = installed ?? { name: 'ivl', log: (m: string) => console.error(m) };
  if (!exiting) {
    exiting = true;
    g.log(`${g.name}: fatal: ${reason}; exiting so that the supervisor restarts this process`);
    const grace = new Promise<void>((r) => setTimeout(r, g.fatalGraceMs ?? 1500).unref());
    await Promise.race([Promise.resolve(g.beforeExit?.(reason)).catch(() => undefined), grace]);
  }
  process.exit(1);
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/** A supervised process (under `ivl up`) stops by itself when its supervisor is gone, instead of living on orphaned. */
export function watchParent(onGone: () => void): void {
  if (!process.env.IVL_SUPERVISED) return;
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) onGone();
  }, 1000).unref();
}

/** Under a supervisor, Ctrl-C is the supervisor's to handle: it stops its children in order with SIGTERM. */
export const supervised = () => Boolean(process.env.IVL_SUPERVISED);
