import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The bundled entry of a worker thread (`dist/<file>`, built by tools/build.mjs): beside the running bundle when
 * called from dist/, else in the nearest dist/ above the caller's source folder (tests run the sources).
 */
export function findThreadEntry(file: string, from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    for (const p of [join(dir, file), join(dir, 'dist', file)]) if (existsSync(p)) return p;
    if (dirname(dir) === dir) throw new Error(`dist/${file} not found: run \`npm run build\``);
  }
}
