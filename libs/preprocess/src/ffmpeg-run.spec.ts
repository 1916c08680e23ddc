import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultFfmpegPath, ffmpegErrorLine, runFfmpeg } from './ffmpeg-run';

describe('runFfmpeg', () => {
  it('finds the bundled binary', () => {
    expect(existsSync(defaultFfmpegPath())).toBe(true);
  });

  it('kills a run that exceeds its time limit and says so', async () => {
    // An endless synthetic source: only the timeout can end it.
    const t0 = Date.now();
    await expect(
      runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25', '-f', 'null', '-'], {
        timeoutMs: 300,
        maxStdoutBytes: 0,
      }),
    ).rejects.toMatchObject({ code: 'timeout', message: 'ffmpeg did not finish within 300 ms' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('kills a run whose output exceeds the cap', async () => {
    await expect(
      runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
        timeoutMs: 10_000,
        maxStdoutBytes: 64 * 48 * 3 * 5,
      }),
    ).rejects.toMatchObject({ code: 'video_decode_failed', message: /more than 46080 bytes/ });
  });

  it('reports a missing binary as a PreprocessError', async () => {
    await expect(
      runFfmpeg(['-version'], { timeoutMs: 1000, maxStdoutBytes: 1 << 20, ffmpegPath: '/nonexistent/ffmpeg' }),
    ).rejects.toMatchObject({ code: 'video_decode_failed', message: /cannot run ffmpeg/ });
  });

  it('picks the last error line out of ffmpeg stderr', () => {
    expect(ffmpegErrorLine('Input #0\n  Stream #0\nx.mp4: Invalid data found when processing input\n')).toBe(
      'x.mp4: Invalid data found when processing input',
    );
    expect(ffmpegErrorLine('')).toBe('no error output');
  });
});
