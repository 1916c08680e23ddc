import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest } from './encode-request';
import { internLm2FixtureModel, writeInternLm2TokenizerFiles } from './internlm2-tokenizer-files';
import type { IvlTokenizer } from './ivl-tokenizer';
import { loadTokenizer } from './load-tokenizer';
import { StreamingDetokenizer } from './streaming-detokenizer';

interface Case {
  text: string;
  ids: number[];
}
const FIXTURES = join(__dirname, '..', 'fixtures', 'internlm2');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'encodings.json'), 'utf8')) as { cases: Case[] };

describe('InternLM2 tokenizer (sentencepiece through @sctg/sentencepiece-js)', () => {
  let dir: string;
  let tok: IvlTokenizer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'il2-tok-'));
    writeInternLm2TokenizerFiles(dir);
    tok = await loadTokenizer(dir);
  });

  it('gives the reference slow tokenizer ids (Debian sentencepiece + transformers splitting) on the mixed corpus', () => {
    expect(expected.cases.length).toBeGreaterThan(60);
    for (const c of expected.cases) expect([tok.bosTokenId!, ...tok.encode(c.text)], JSON.stringify(c.text)).toEqual(c.ids);
  });

  it('puts the chat and InternVL tokens at their real ids, BOS first in a request', () => {
    expect(tok.bosTokenId).toBe(1);
    expect(tok.tokenToId('<|im_end|>')).toBe(92542);
    expect(tok.tokenToId('<|im_start|>')).toBe(92543);
    expect(tok.tokenToId('<IMG_CONTEXT>')).toBe(92546);
    expect(tok.tokenToId('</box>')).toBe(92552);
    expect(tok.vocabSize).toBe(92553);
    const r = encodeRequest(tok, { question: 'Describe it.', numPatchesList: [1], numImageToken: 256 });
    expect(r.ids[0]).toBe(1);
    expect(r.ids.filter((i) => i === 92546)).toHaveLength(256);
    expect(r.ids.slice(1, 2)).toEqual([92543]);
  });

  it('decodes what it encodes, and streams deltas that add up to decode() with special tokens skipped', () => {
    for (const c of expected.cases) {
      const ids = tok.encode(c.text);
      const kept = ids.filter((i) => !tok.isSpecial(i));
      const whole = tok.decode(ids, { skipSpecialTokens: true });
      const stream = new StreamingDetokenizer(tok, true);
      let text = '';
      for (const id of ids) text += stream.push(id);
      text += stream.flush();
      expect(text, JSON.stringify(c.text)).toBe(whole);
      if (kept.length === ids.length && !c.text.startsWith(' ')) expect(whole).toBe(c.text);
    }
  });

  it('agrees with Debian\'s spm_encode binary on a live sample', () => {
    const bin = process.env.IVL_SPM_ENCODE_BIN ?? '/usr/bin/spm_encode';
    if (!existsSync(bin)) {
      throw new Error('this test needs Debian\'s sentencepiece (`apt-get install -y --no-install-recommends sentencepiece`; CI does this in .ci/run) or IVL_SPM_ENCODE_BIN');
    }
    const model = join(dir, 'live.model');
    writeFileSync(model, internLm2FixtureModel());
    const plain = expected.cases.map((c) => c.text).filter((t) => t.length > 0 && !t.includes('\n') && !/<[|/a-zA-Z]/.test(t));
    expect(plain.length).toBeGreaterThan(10);
    const out = execFileSync(bin, [`--model=${model}`, '--output_format=id'], { input: plain.join('\n') + '\n' }).toString().split('\n');
    plain.forEach((t, i) => expect(tok.encode(t), JSON.stringify(t)).toEqual(out[i].trim() === '' ? [] : out[i].trim().split(' ').map(Number)));
  });

  it('refuses a corrupt tokenizer.model with a clear error', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'il2-bad-'));
    writeInternLm2TokenizerFiles(bad);
    writeFileSync(join(bad, 'tokenizer.model'), Buffer.from('not a model'));
    await expect(loadTokenizer(bad)).rejects.toThrow(/tokenizer\.model is corrupt/);
  });
});
