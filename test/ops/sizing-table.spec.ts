import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { docWithTable, sizingTable } from '../../tools/sizing-table';

describe('docs/deployment.md sizing table', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'deployment.md'), 'utf8');

  it('is the table the sizing rules give (regenerate with node tools/run-ts.mjs tools/sizing-table.ts --write)', () => {
    expect(docWithTable(doc)).toBe(doc);
  });

  it('covers every size with its card plan, stage by stage', () => {
    const t = sizingTable();
    for (const m of ['1B', '2B', '4B', '8B', '26B', '38B', '78B']) expect(t).toContain(`InternVL2_5-${m} |`);
    expect(t.split('\n').filter((l) => /^\| +\| +\| \d/.test(l))).toHaveLength(1 + 1 + 3 + 3 + 7);
  });
});
