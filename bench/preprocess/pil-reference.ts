/**
 * The Python side of the benchmark: the model card's preprocessing with Pillow, timed inside Python so that
 * interpreter start-up is not counted. torch is not installed here, so ToTensor + Normalize is done with numpy
 * float32 in the same order ((x / 255 − mean) / std, CHW).
 */
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

const SCRIPT = String.raw`
import json, sys, time
import numpy as np
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 3, 1, 1)

def grids(max_num):
    g = set((i, j) for n in range(1, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1)
            if 1 <= i * j <= max_num)
    return sorted(g, key=lambda x: x[0] * x[1])

def closest(w, h, cands):
    aspect, best_diff, best = w / h, float('inf'), (1, 1)
    for c, r in cands:
        d = abs(aspect - c / r)
        if d < best_diff:
            best_diff, best = d, (c, r)
        elif d == best_diff and w * h > 0.5 * 448 * 448 * c * r:
            best = (c, r)
    return best

def preprocess(path, max_num=12):
    img = Image.open(path).convert('RGB')
    c, r = closest(img.size[0], img.size[1], grids(max_num))
    grid = img.resize((448 * c, 448 * r))
    tiles = [grid.crop(((k % c) * 448, (k // c) * 448, (k % c + 1) * 448, (k // c + 1) * 448)) for k in range(c * r)]
    if len(tiles) != 1:
        tiles.append(img.resize((448, 448)))
    x = np.stack([np.asarray(t) for t in tiles]).astype(np.float32) / np.float32(255)
    return (x.transpose(0, 3, 1, 2) - MEAN) / STD

req = json.loads(sys.argv[1])
out = {}
for path in req['files']:
    for _ in range(req['warmup']):
        preprocess(path)
    times = []
    for _ in range(req['runs']):
        t0 = time.perf_counter()
        tensor = preprocess(path)
        times.append((time.perf_counter() - t0) * 1000)
    out[path] = {'ms': sorted(times)[len(times) // 2], 'tiles': int(tensor.shape[0])}
print(json.dumps(out))
`;

export function pillowAvailable(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import PIL, numpy'], { stdio: 'ignore', timeout: 30_000 });
  return r.status === 0;
}

/** Median milliseconds per file, or null when Python, Pillow or numpy is missing. */
export function timePillow(
  files: string[],
  runs: number,
  warmup: number,
): Record<string, { ms: number; tiles: number }> | null {
  if (!pillowAvailable()) return null;
  const r = spawnSync(PYTHON, ['-c', SCRIPT, JSON.stringify({ files, runs, warmup })], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`Pillow reference failed: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout) as Record<string, { ms: number; tiles: number }>;
}
