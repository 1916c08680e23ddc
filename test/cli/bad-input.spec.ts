import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyCheckpoint } from '@ivl/test-support';
import { ivl } from '../support/cli';
import { syntheticImage } from '../support/images';

/**
 * Bad input to the CLI gets one line naming the problem and a non-zero exit: never a stack trace, a crash or a
 * hang. (The gateway's HTTP answers to the same inputs are tested in test/gateway.)
 */
describe('ivl forward refuses bad input with a clear message', () => {
  const model = tinyCheckpoint('tiny');
  const dir = mkdtempSync(join(tmpdir(), 'bad-'));
  const files: Record<string, string> = {};
  beforeAll(async () => {
    const good = await syntheticImage(300, 200, 2);
    files.good = good.path;
    files.empty = join(dir, 'empty.png');
    writeFileSync(files.empty, '');
    files.truncated = join(dir, 'truncated.png');
    writeFileSync(files.truncated, readFileSync(good.path).subarray(0, 200));
    files.text = join(dir, 'notes.png');
    writeFileSync(files.text, 'this is not an image at all\n'.repeat(20));
    // A valid PNG header declaring 30000×30000 pixels, followed by almost nothing: a decompression bomb.
    const png = Buffer.from(readFileSync(good.path));
    png.writeUInt32BE(30000, 16);
    png.writeUInt32BE(30000, 20);
    files.bomb = join(dir, 'bomb.png');
    writeFileSync(files.bomb, png.subarray(0, 4096));
    files.video = join(dir, 'broken.mp4');
    writeFileSync(files.video, Buffer.concat([Buffer.from('\x00\x00\x00\x18ftypmp42'), Buffer.alloc(5000, 7)]));
  });

  const expectClean = (r: { status: number | null; stderr: string }, pattern: RegExp) => {
    expect(r.status).not.toBe(0);
    expect(r.status).not.toBeNull(); // exited by itself, no timeout kill
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  };
  const forward = (...args: string[]) => ivl(['forward', '--model', model, '--prompt', 'What is this?', '--max-new-tokens', '2', ...args]);

  it('a missing file', () => expectClean(forward('--image', join(dir, 'nope.png')), /cannot read .*nope\.png: ENOENT/));
  it('a zero-byte file', () => expectClean(forward('--image', files.empty), /empty \(0 bytes\)/));
  it('a truncated image', () => expectClean(forward('--image', files.truncated), /truncated|corrupt|cannot be decoded/i));
  it('an unsupported format', () => expectClean(forward('--image', files.text), /unsupported|not a supported image|format/i));
  it('a decompression bomb is refused before decoding', () => expectClean(forward('--image', files.bomb), /30000×30000 = 900,000,000 pixels, above the limit/));
  it('a video with no decodable frames', () => expectClean(forward('--video', files.video, '--segments', '4'), /video/i));
  it('more images than placeholders', () => expectClean(forward('--image', files.good, '--image', files.good, '--image', files.good, '--prompt', 'Compare <image> and <image>.'), /2 <image> placeholder\(s\) but 3 image\(s\)/));
  it('more placeholders than images', () => expectClean(forward('--image', files.good, '--prompt', 'Compare <image> and <image>.'), /2 <image> placeholder\(s\) but 1 image\(s\)/));
  it('a prompt longer than the context', () => {
    const r = ivl(['forward', '--model', model, '--prompt', 'word '.repeat(200), '--max-new-tokens', '2'], { env: { IVL_MAX_MODEL_LEN: '128' } });
    expectClean(r, /the prompt has \d+ tokens; the context holds 128/);
  });
  it('a model directory that is not a checkpoint', () => expectClean(ivl(['forward', '--model', dir, '--prompt', 'x']), /has no config\.json/));
  it('bad sampling values', () => expectClean(forward('--temperature', '-1'), /temperature must be between 0 and 2/));
});
