import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The built playground: next to the gateway bundle (dist/playground beside dist/gateway.js), or the repository's
 * dist/ when running from source; IVL_PLAYGROUND_DIR overrides. Undefined when it has not been built.
 */
export function playgroundDir(bundleDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.IVL_PLAYGROUND_DIR, join(bundleDir, 'playground'), join(bundleDir, '..', '..', '..', 'dist', 'playground')];
  return candidates.find((d): d is string => !!d && existsSync(join(d, 'index.html')));
}
