/**
 * Runs the ffmpeg binary from `@ffmpeg-installer/ffmpeg` with a hard wall-clock limit and a cap on stdout, so that
 * a hostile or broken file can neither hang a worker nor make it buffer without bound.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { PreprocessError } from './errors';

export interface FfmpegRunOptions {
  timeoutMs: number;
  /** Larger stdout means a mis-parsed stream; the process is killed. */
  maxStdoutBytes: number;
  ffmpegPath?: string;
}

export interface FfmpegResult {
  code: number | null;
  stdout: Buffer;
  /** The last 64 KiB of stderr: enough for ffmpeg's error lines and stream info. */
  stderr: string;
}

const STDERR_KEEP = 64 * 1024;

/**
 * Resolved lazily: only video needs it, and the package throws at load time on platforms it has no binary for.
 * `createRequire` because a bundled dynamic `import()` would go through the ESM loader instead of `require`.
 */
export function defaultFfmpegPath(): string {
  try {
    return (createRequire(__filename)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new PreprocessError('video_decode_failed', `no ffmpeg binary available: ${msg}`, { cause: e });
  }
}

export async function runFfmpeg(args: readonly string[], opts: FfmpegRunOptions): Promise<FfmpegResult> {
  const bin = opts.ffmpegPath ?? defaultFfmpegPath();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-nostdin', '-hide_banner', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let failure: PreprocessError | null = null;
    const kill = (err: PreprocessError): void => {
      failure ??= err;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => kill(new PreprocessError('timeout', `ffmpeg did not finish within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    child.stdout.on('data', (b: Buffer) => {
      stdoutBytes += b.length;
      if (stdoutBytes > opts.maxStdoutBytes) {
        kill(new PreprocessError('video_decode_failed', `ffmpeg produced more than ${opts.maxStdoutBytes} bytes`));
        return;
      }
      chunks.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
      if (stderr.length > 2 * STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new PreprocessError('video_decode_failed', `cannot run ffmpeg at ${bin}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else resolve({ code, stdout: Buffer.concat(chunks), stderr: stderr.slice(-STDERR_KEEP) });
    });
  });
}

/** ffmpeg's last meaningful error line, for messages. */
export function ffmpegErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('frame=') && !l.startsWith('video:'));
  return lines[lines.length - 1] ?? 'no error output';
}
