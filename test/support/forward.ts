import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ForwardReport {
  prompt: string;
  input_ids: number[];
  num_patches: number[];
  tokens: number[];
  text: string;
  finish_reason: string;
}

/** Runs the real `ivl forward` CLI (single process) and returns its JSON report without the logits. */
export function ivlForward(args: string[]): ForwardReport {
  const out = join(mkdtempSync(join(tmpdir(), 'fwd-')), 'r.json');
  execFileSync(process.execPath, [join(__dirname, '..', '..', 'dist', 'cli.js'), 'forward', ...args, '--json', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  const r = JSON.parse(readFileSync(out, 'utf8'));
  delete r.logits;
  return r;
}
