import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../load-tokenizer';
import type { IvlTokenizer } from '../ivl-tokenizer';
import { writeTokenizerFiles } from '../tokenizer-files';

const created: string[] = [];
// Each test file runs in its own process; removing on exit keeps /tmp from filling with 4-MB vocabularies.
process.on('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the test process ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

let dir: string | undefined;
let tokenizer: Promise<IvlTokenizer> | undefined;

/** A checkpoint-style directory holding the published tokenizer files, written once per test file. */
export function writtenTokenizerDir(): string {
  if (!dir) {
    dir = tempDir('ivl-prompt-');
    writeTokenizerFiles(dir);
  }
  return dir;
}

/** The InternVL2.5 tokenizer as a checkpoint loads it: from the slow files, with no tokenizer.json. */
export function writtenTokenizer(): Promise<IvlTokenizer> {
  tokenizer ??= loadTokenizer(writtenTokenizerDir());
  return tokenizer;
}
