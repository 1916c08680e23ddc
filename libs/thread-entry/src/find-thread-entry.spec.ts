import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findThreadEntry } from './find-thread-entry';

const root = mkdtempSync(join(tmpdir(), 'ivl-thread-entry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('findThreadEntry', () => {
  it('finds the entry beside the bundle, or in the nearest dist/ above the sources', () => {
    mkdirSync(join(root, 'dist'));
    mkdirSync(join(root, 'libs', 'x', 'src'), { recursive: true });
    writeFileSync(join(root, 'dist', 'a-thread.js'), '');
    expect(findThreadEntry('a-thread.js', join(root, 'dist'))).toBe(join(root, 'dist', 'a-thread.js'));
    expect(findThreadEntry('a-thread.js', join(root, 'libs', 'x', 'src'))).toBe(join(root, 'dist', 'a-thread.js'));
  });

  it('says to build when the entry is nowhere', () => {
    expect(() => findThreadEntry('missing-thread.js', join(root, 'libs'))).toThrow('dist/missing-thread.js not found: run `npm run build`');
  });
});
