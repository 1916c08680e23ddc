import { existsSync, mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeModel } from '@ivl/checkpoint';

/** Bumped when generated checkpoints change, so stale cached copies are not reused. */
const GENERATION = 3;

/**
 * A generated checkpoint shared by all tests of a run (and later runs): made once per preset and seed, in the
 * system temp dir. Concurrent test processes may race to create it; the loser simply uses the winner's copy.
 */
export function tinyCheckpoint(preset = 'tiny', seed = 1, overrides?: Record<string, unknown>): string {
  const tag = overrides ? `-${Buffer.from(JSON.stringify(overrides)).toString('base64url').slice(0, 24)}` : '';
  const dir = join(tmpdir(), 'ivl-test-models', `g${GENERATION}-${preset}-s${seed}${tag}`);
  if (existsSync(join(dir, 'config.json'))) return dir;
  mkdirSync(join(tmpdir(), 'ivl-test-models'), { recursive: true });
  try {
    makeModel({ preset, out: dir, seed, configOverrides: overrides });
  } catch (e) {
    if (!existsSync(join(dir, 'config.json'))) throw e;
  }
  return dir;
}

/** A fresh bundle cache for one test file, so conversions under test are not served from an old cache. */
export function freshCacheDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `ivl-cache-${label}-`));
}
