import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { candidateGrids, closestGrid, planTiles } from './tile-plan';
import { FIXTURE_DIR, loadManifest } from './testing/fixtures';

describe('planTiles (dynamic_preprocess grid choice)', () => {
  it('reproduces the worked examples of reference doc 6.3 for max_num 12 and 6', () => {
    const table: [number, number, string, number, string, number][] = [
      [448, 448, '1x1', 1, '1x1', 1],
      [500, 500, '1x1', 1, '1x1', 1],
      [634, 634, '2x2', 5, '2x2', 5],
      [640, 480, '4x3', 13, '3x2', 7],
      [800, 600, '4x3', 13, '3x2', 7],
      [1024, 768, '4x3', 13, '3x2', 7],
      [951, 951, '3x3', 10, '2x2', 5],
      [1000, 1000, '3x3', 10, '2x2', 5],
      [1920, 1080, '4x2', 9, '2x1', 3],
      [1080, 1920, '2x4', 9, '1x2', 3],
      [300, 1000, '1x3', 4, '1x3', 4],
      [4000, 100, '12x1', 13, '6x1', 7],
    ];
    for (const [w, h, grid12, n12, grid6, n6] of table) {
      const a = planTiles(w, h);
      const b = planTiles(w, h, { maxNum: 6 });
      expect(`${a.cols}x${a.rows}/${a.numTiles}`, `${w}x${h}`).toBe(`${grid12}/${n12}`);
      expect(`${b.cols}x${b.rows}/${b.numTiles}`, `${w}x${h} max 6`).toBe(`${grid6}/${n6}`);
    }
  });

  it('applies the exact-tie rule: the larger grid only above half its pixel count', () => {
    // 1:1 ties with 2:2 and 3:3; the area thresholds are 0.5·448²·4 = 401,408 and 0.5·448²·9 = 903,168.
    expect(planTiles(633, 633).cols).toBe(1);
    expect(planTiles(634, 634).cols).toBe(2);
    expect(planTiles(950, 950).cols).toBe(2);
    expect(planTiles(951, 951).cols).toBe(3);
    // Aspect 1.5 is equidistant from 1:1 and 2:1 (a tie between different ratios), but 3:2 is exact.
    expect(planTiles(900, 600)).toEqual({ cols: 3, rows: 2, numTiles: 7 });
    // With max_num 2 only 1:1, 1:2, 2:1 exist: 1.5 ties between 1:1 and 2:1 and the area decides.
    expect(planTiles(300, 200, { maxNum: 2 })).toEqual({ cols: 1, rows: 1, numTiles: 1 });
    expect(planTiles(900, 600, { maxNum: 2 })).toEqual({ cols: 2, rows: 1, numTiles: 3 });
  });

  it('lists candidates in the CPython order of doc 6.2 (max_num 12 and 6)', () => {
    const orders = loadManifest().candidateOrders;
    expect(candidateGrids(1, 12)).toEqual(orders['12']);
    expect(candidateGrids(1, 6)).toEqual(orders['6']);
    expect(candidateGrids(1, 12).slice(0, 6)).toEqual([[1, 1], [1, 2], [2, 1], [3, 1], [1, 3], [2, 2]]);
  });

  it('orders other limits by tile count, and the order inside one count never changes the choice', () => {
    const orders = loadManifest().candidateOrders;
    const sides = [1, 3, 100, 333, 448, 500, 634, 700, 897, 1000, 1500, 2000, 3333, 5000];
    for (let n = 1; n <= 40; n++) {
      const python = orders[String(n)];
      const ours = candidateGrids(1, n);
      expect(ours.map(([i, j]) => i * j)).toEqual(python.map(([i, j]) => i * j));
      expect([...ours].sort()).toEqual([...python].sort());
      for (const w of sides) for (const h of sides) expect(closestGrid(w, h, ours)).toEqual(closestGrid(w, h, python));
    }
  });

  it('matches Python on the generated sweep of sizes and limits', () => {
    const sweep = JSON.parse(readFileSync(join(FIXTURE_DIR, 'plan-sweep.json'), 'utf8')) as { rows: number[][] };
    expect(sweep.rows.length).toBeGreaterThan(10_000);
    let mismatches = 0;
    for (const [w, h, minNum, maxNum, cols, rows] of sweep.rows) {
      const p = planTiles(w, h, { minNum, maxNum });
      if (p.cols !== cols || p.rows !== rows) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('adds the thumbnail only for more than one tile, and can leave it out', () => {
    expect(planTiles(448, 448).numTiles).toBe(1);
    expect(planTiles(1920, 1080, { useThumbnail: false }).numTiles).toBe(8);
    expect(planTiles(1920, 1080, { maxNum: 1 })).toEqual({ cols: 1, rows: 1, numTiles: 1 });
  });

  it('rejects invalid sizes and limits', () => {
    expect(() => planTiles(0, 10)).toThrow(/size/);
    expect(() => planTiles(10.5, 10)).toThrow(/size/);
    expect(() => planTiles(10, 10, { maxNum: 0 })).toThrow(/maxNum/);
    expect(() => planTiles(10, 10, { maxNum: 65 })).toThrow(/maxNum/);
    expect(() => planTiles(10, 10, { minNum: 7, maxNum: 6 })).toThrow(/minNum/);
  });
});
