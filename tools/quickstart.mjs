// `npm start`: generates the tiny checkpoint once (models/tiny) and starts the whole local cluster on it:
// Redis (if none is running), a 2-stage pipeline and the gateway. Ctrl-C stops everything it started.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist', 'cli.js');
if (!existsSync(cli)) spawnSync(process.execPath, [join(root, 'tools', 'build.mjs')], { stdio: 'inherit' });
const model = join(root, 'models', 'tiny');
if (!existsSync(join(model, 'config.json'))) {
  const r = spawnSync(process.execPath, [cli, 'make-model', '--preset', 'tiny', '--out', model, '--seed', '1'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const args = [cli, 'up', '--model', model, '--stages', process.env.IVL_STAGES ?? '2', ...process.argv.slice(2)];
const up = spawn(process.execPath, args, { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => up.kill(sig));
up.on('exit', (code) => process.exit(code ?? 0));
