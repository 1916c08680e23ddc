import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const run = (args: string[]) => spawnSync('npx', args, { cwd: root, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' } });

/** The whole workspace type-checks, and lint (module boundaries included) reports no errors. */
describe('static checks', () => {
  it('tsc --noEmit over apps, libs, tests and benchmarks', () => {
    const r = run(['tsc', '-p', 'tsconfig.json', '--noEmit']);
    expect(r.stdout + r.stderr.replace(/npm warn.*\n/g, '')).toBe('');
    expect(r.status).toBe(0);
  });

  it('eslint: no errors, Nx module boundaries enforced', () => {
    run(['nx', 'show', 'projects']); // the boundary rule reads the cached project graph
    const r = run(['eslint', '--quiet', 'apps', 'libs', 'test', 'bench']);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });
});
