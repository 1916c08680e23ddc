import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Builds dist/ once so tests that start processes or worker threads run the current code. */
export default function setup(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'tools', 'build.mjs')], { cwd: root, stdio: 'inherit' });
}
