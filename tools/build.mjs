// Bundles the apps and the worker-thread entries (onnxruntime, media preprocessing, tokenizer) into dist/ (our code only; node_modules stay external).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const entryPoints = {
  cli: 'apps/cli/src/main.ts',
  'ort-thread': 'libs/runtime/src/thread/ort-thread.main.ts',
  'media-thread': 'libs/preprocess/src/pool/media-thread.main.ts',
  'tokenizer-thread': 'libs/prompt/src/thread/tokenizer-thread.main.ts',
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

// The web playground: one browser bundle (markdown parser and sanitizer inside, nothing from a CDN) and its page,
// served by the gateway from dist/playground.
const page = 'libs/playground/src/page';
await build({
  absWorkingDir: root,
  entryPoints: [`${page}/main.ts`],
  outfile: 'dist/playground/app.js',
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'iife',
  minify: true,
  sourcemap: true,
  tsconfig: 'tsconfig.json',
  logLevel: 'warning',
});
mkdirSync(root + 'dist/playground', { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(`${root}${page}/${f}`, `${root}dist/playground/${f}`);
