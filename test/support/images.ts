import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/** A deterministic synthetic PNG of the given size (gradients and stripes), written to a temp file. */
export async function syntheticImage(width: number, height: number, seed = 1): Promise<{ path: string; bytes: Uint8Array }> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = (x * 255) / width;
      raw[i + 1] = (y * 255) / height;
      raw[i + 2] = ((x + y * seed) >> 3) % 2 ? 220 : 30;
    }
  }
  const bytes = await sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
  const path = join(mkdtempSync(join(tmpdir(), 'img-')), `img-${width}x${height}-${seed}.png`);
  writeFileSync(path, bytes);
  return { path, bytes: new Uint8Array(bytes) };
}
