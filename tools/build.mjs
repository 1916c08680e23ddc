// Bundles the apps and the onnxruntime worker-thread entry into dist/ (our code only; node_modules stay external).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const entryPoints = {
  cli: 'apps/cli/src/main.ts',
  'ort-thread': 'libs/runtime/src/thread/ort-thread.main.ts',
};
const extra = { worker: 'apps/worker/src/main.ts', gateway: 'apps/gateway/src/main.ts' };
import { existsSync } from 'node:fs';
for (const [k, v] of Object.entries(extra)) if (existsSync(root + v)) entryPoints[k] = v;

rmSync(root + 'dist', { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  tsconfig: 'tsconfig.json',
  logLevel: 'warning',
});
