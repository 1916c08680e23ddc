// Writes the Grafana dashboard generated from the metric catalog (libs/telemetry/src/dashboard) to the committed
// copies: infra/grafana/ivl-cluster.json and helm/ivl-cluster/files/ivl-cluster-dashboard.json (the chart's
// ConfigMap reads the second). `node tools/dashboard.mjs --check` only reports whether they are current.
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const check = process.argv.includes('--check');

const tmp = mkdtempSync(join(tmpdir(), 'ivl-dashboard-'));
try {
  const out = join(tmp, 'dashboard.cjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['libs/telemetry/src/dashboard/ivl-dashboard.ts'],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    tsconfig: 'tsconfig.json',
    logLevel: 'warning',
  });
  const { ivlDashboardJson, DASHBOARD_FILES } = createRequire(import.meta.url)(out);
  const json = ivlDashboardJson();
  let stale = 0;
  for (const rel of DASHBOARD_FILES) {
    const file = join(root, rel);
    const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (current === json) continue;
    if (check) {
      console.error(`${rel} is not current: run \`node tools/dashboard.mjs\``);
      stale++;
    } else {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, json);
      console.log(`wrote ${rel}`);
    }
  }
  if (check && stale) process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
