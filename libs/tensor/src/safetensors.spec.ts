import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, truncateSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsWriter, readSafetensorsHeader, readTensorBytes } from './safetensors';

function sample(dir: string) {
  const path = join(dir, 'model.safetensors');
  const w = new SafetensorsWriter(path, [
    { name: 'a', dtype: 'F32', shape: [2, 3] },
    { name: 'b', dtype: 'BF16', shape: [4] },
  ], { format: 'pt' });
  w.write('a', new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer));
  w.write('b', new Uint8Array(new Uint16Array([1, 2, 3, 4]).buffer));
  w.close();
  return path;
}

describe('safetensors', () => {
  it('writes and reads back tensors with the published header layout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const path = sample(dir);
    const raw = readFileSync(path);
    const n = Number(raw.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const h = JSON.parse(raw.subarray(8, 8 + n).toString());
    expect(h.__metadata__).toEqual({ format: 'pt' });
    expect(h.a).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    const hdr = readSafetensorsHeader(path);
    expect(Array.from(new Float32Array(readTensorBytes(hdr.tensors.get('a')!).slice().buffer))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(new Uint16Array(readTensorBytes(hdr.tensors.get('b')!).slice().buffer))).toEqual([1, 2, 3, 4]);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('names truncation and corruption', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const path = sample(dir);
    truncateSync(path, readFileSync(path).length - 3);
    expect(() => readSafetensorsHeader(path)).toThrow(/truncated safetensors file: the header declares 32 bytes of tensor data but only 29/);
    writeFileSync(path, Buffer.from([1, 2, 3]));
    expect(() => readSafetensorsHeader(path)).toThrow(/truncated safetensors file: 3 bytes/);
    const bad = Buffer.alloc(16);
    bad.writeBigUInt64LE(8n);
    bad.write('{notjson', 8);
    writeFileSync(path, bad);
    expect(() => readSafetensorsHeader(path)).toThrow(/not valid JSON/);
  });

  it('leaves no file behind when a write is abandoned', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const w = new SafetensorsWriter(join(dir, 'x.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1] }]);
    expect(() => w.close()).toThrow(/only 0 of 1/);
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
