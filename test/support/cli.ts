import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ivl …` as a user would (the built CLI, a real process). */
export function ivl(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `ivl …` and collects stdout chunk by chunk (to see streaming). */
export function ivlStreaming(args: string[], input?: string): Promise<CliResult & { chunks: string[] }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: string[] = [];
    let stderr = '';
    p.stdout.on('data', (d) => chunks.push(d.toString()));
    p.stderr.on('data', (d) => (stderr += d.toString()));
    if (input !== undefined) p.stdin.end(input);
    p.on('exit', (status) => resolve({ status, stdout: chunks.join(''), stderr, chunks }));
  });
}
