// Runs a TypeScript entry point (benchmarks, scripts) by bundling it with esbuild first; node_modules stay external.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node tools/run-ts.mjs <file.ts> [args...]');
  process.exit(2);
}
const outDir = join(root, 'dist', 'scripts');
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, basename(entry).replace(/\.ts$/, '.js'));
await build({ absWorkingDir: root, entryPoints: [entry], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', sourcemap: true, tsconfig: 'tsconfig.json', logLevel: 'warning' });
// onnxruntime-node copies every output into a fresh buffer: larger malloc thresholds avoid page faults on each copy.
const env = { MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '4294967296', ...process.env };
const r = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...args], { stdio: 'inherit', cwd: root, env });
process.exit(r.status ?? 1);
