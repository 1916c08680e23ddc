// Keeps tsconfig.base.json `paths` in step with the libs folder: each lib is importable as @ivl/<folder>.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const libs = readdirSync(join(root, 'libs')).filter((d) => existsSync(join(root, 'libs', d, 'src', 'index.ts'))).sort();
const base = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8'));
base.compilerOptions.paths = Object.fromEntries(libs.map((d) => [`@ivl/${d}`, [`libs/${d}/src/index.ts`]]));
writeFileSync(join(root, 'tsconfig.base.json'), JSON.stringify(base, null, 2) + '\n');
console.log(`paths for ${libs.length} libs`);
