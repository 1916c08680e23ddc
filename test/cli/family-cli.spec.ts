import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ivl } from '../support/cli';

/** The README's "Supported models" commands, as real processes. */
describe('ivl make-model and ivl forward for the family', () => {
  it('make-model --preset tiny-26b then forward (the README example): InternLM2 prompt with BOS, an answer', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'fam-cli-')), 'tiny-26b');
    const made = ivl(['make-model', '--preset', 'tiny-26b', '--out', dir]);
    expect(made.status, made.stderr).toBe(0);
    expect(readdirSync(dir)).toContain('tokenizer.model');
    const out = join(dir, '..', 'r.json');
    const r = ivl(['forward', '--model', dir, '--prompt', 'Hello', '--max-new-tokens', '8', '--json', out], { env: { IVL_CACHE_DIR: join(dir, '..', 'cache') } });
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(out, 'utf8'));
    expect(rep.input_ids[0]).toBe(1);
    expect(rep.input_ids[1]).toBe(92543);
    expect(rep.logits).toHaveLength(92553);
    expect(rep.tokens.length).toBeGreaterThan(0);
  });

  it('an unknown preset is refused with the list of every size', () => {
    const r = ivl(['make-model', '--preset', '70b', '--out', join(mkdtempSync(join(tmpdir(), 'fam-cli-')), 'x')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown preset 70b; choose one of 1b, 2b, 4b, 8b, 26b, 38b, 78b, tiny/);
  });
});
