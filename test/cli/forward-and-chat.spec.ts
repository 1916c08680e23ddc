import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyCheckpoint } from '@ivl/test-support';
import { ivl, ivlStreaming } from '../support/cli';
import { syntheticImage } from '../support/images';

const model = tinyCheckpoint('tiny');
const json = (args: string[]) => {
  const out = join(mkdtempSync(join(tmpdir(), 'fwd-')), 'r.json');
  const r = ivl(['forward', '--model', model, ...args, '--json', out]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8'));
};

describe('ivl forward', () => {
  it('reports the worked examples of the reference: 800×600 → 13 tiles, 1920×1080 → 9, 448×448 → 1', async () => {
    for (const [w, h, tiles] of [
      [800, 600, 13],
      [1920, 1080, 9],
      [448, 448, 1],
    ]) {
      const img = await syntheticImage(w, h);
      const r = json(['--prompt', 'Describe.', '--image', img.path, '--max-new-tokens', '1']);
      expect(r.num_patches).toEqual([tiles]);
      expect(r.input_ids.filter((t: number) => t === 151667)).toHaveLength(tiles * 256);
      // <img> <IMG_CONTEXT>×(256·tiles) </img> then "\n" and the question, as the card's '<image>\n' prefix
      const at = r.input_ids.indexOf(151665);
      expect(r.input_ids[at + tiles * 256 + 1]).toBe(151666);
      expect(r.prompt).toContain('<|im_start|>user\n<image>\nDescribe.<|im_end|>');
      expect(r.logits).toHaveLength(151674);
    }
  });

  it('lays out several images as Image-1/Image-2 by default and as one block with --combine-images', async () => {
    const a = await syntheticImage(800, 600, 1);
    const b = await syntheticImage(448, 448, 2);
    const sep = json(['--prompt', 'Compare.', '--image', a.path, '--image', b.path, '--max-new-tokens', '1']);
    expect(sep.num_patches).toEqual([13, 1]);
    expect(sep.prompt).toContain('Image-1: <image>\nImage-2: <image>\nCompare.');
    const comb = json(['--prompt', 'Compare.', '--image', a.path, '--image', b.path, '--combine-images', '--max-new-tokens', '1']);
    expect(comb.num_patches).toEqual([14]);
    expect(comb.input_ids.filter((t: number) => t === 151665)).toHaveLength(1);
    const max6 = json(['--prompt', 'x', '--image', a.path, '--max-num', '6', '--max-new-tokens', '1']);
    expect(max6.num_patches).toEqual([7]);
  });

  it('samples a video into frames with the card prompt (Frame1: <image> …)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vid-'));
    const video = join(dir, 'clip.mp4');
    const ffmpeg = require('@ffmpeg-installer/ffmpeg').path as string;
    execFileSync(ffmpeg, ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=2:size=96x64:rate=10', '-pix_fmt', 'yuv420p', video]);
    const r = json(['--prompt', 'What happens?', '--video', video, '--segments', '4', '--max-new-tokens', '1']);
    expect(r.num_patches).toEqual([1, 1, 1, 1]);
    expect(r.prompt).toContain('Frame1: <image>\nFrame2: <image>\nFrame3: <image>\nFrame4: <image>\nWhat happens?');
  });

  it('same seed, same sampled answer; a different seed, a different one', () => {
    const run = (seed: number) => json(['--prompt', 'Tell me something.', '--temperature', '1', '--top-k', '50', '--seed', String(seed), '--max-new-tokens', '12']).tokens;
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});

describe('ivl chat', () => {
  let img: string;
  beforeAll(async () => {
    img = (await syntheticImage(640, 480, 4)).path;
  });

  it('streams one answer to the terminal, equal to forward’s greedy text', async () => {
    const expected = json(['--prompt', 'What is shown?', '--image', img, '--max-new-tokens', '24']).text;
    const r = await ivlStreaming(['chat', '--model', model, '--image', img, '--prompt', 'What is shown?', '--temperature', '0', '--max-new-tokens', '24']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trimEnd()).toBe(expected);
    expect(r.chunks.length).toBeGreaterThan(1); // written delta by delta, not at the end
  });

  it('runs an interactive session with history', async () => {
    const r = await ivlStreaming(['chat', '--model', model, '--temperature', '0', '--max-new-tokens', '8'], 'What is this?\nAnd the colours?\n/exit\n');
    expect(r.status, r.stderr).toBe(0);
    const answers = r.stdout.split('> ').map((s) => s.trim()).filter(Boolean);
    expect(answers).toHaveLength(2);
    // The second turn is answered with the first in its prompt: alone, the same question gets another answer.
    const alone = await ivlStreaming(['chat', '--model', model, '--temperature', '0', '--max-new-tokens', '8', '--prompt', 'And the colours?']);
    expect(answers[1]).not.toBe(alone.stdout.trim());
  });
});
