/**
 * Frame count, frame rate and frame size without ffprobe (the npm ffmpeg package ships only ffmpeg): one cheap
 * stream copy counts packets, one single-frame decode through `showinfo` reports the exact rational frame rate
 * (the console banner rounds it, e.g. 23.98 for 24000/1001) and the decoded frame size.
 */
import { PreprocessError } from './errors';
import { ffmpegErrorLine, runFfmpeg } from './ffmpeg-run';

export interface VideoInfo {
  /** Packets in the first video stream: decord's `len(vr)` reads the container's frame count, which matches. */
  totalFrames: number;
  fps: number;
  fpsRational: readonly [number, number];
  width: number;
  height: number;
}

export interface ProbeOptions {
  timeoutMs: number;
  ffmpegPath?: string;
}

const NO_VIDEO = /matches no streams|does not contain any stream|no video stream/i;

/** `file:` keeps ffmpeg from reading a path as an option (leading '-') or as another protocol (http:, concat:). */
export function ffmpegInput(path: string): string {
  return `file:${path}`;
}

export async function probeVideo(file: string, opts: ProbeOptions): Promise<VideoInfo> {
  // -noautorotate: decord returns frames as stored, ignoring the display-matrix rotation.
  const first = await runFfmpeg(
    ['-noautorotate', '-i', ffmpegInput(file), '-map', '0:v:0', '-frames:v', '1', '-vf', 'showinfo', '-f', 'null', '-'],
    { ...opts, maxStdoutBytes: 0 },
  );
  failOnError(first.code, first.stderr, file);
  const rate = /config in time_base: \d+\/\d+, frame_rate: (\d+)\/(\d+)/.exec(first.stderr);
  const size = /\bn:\s*0\b.*?\bs:(\d+)x(\d+)/.exec(first.stderr);
  if (!size) throw new PreprocessError('no_video_frames', 'the video stream has no decodable frame');
  const num = rate ? Number(rate[1]) : 0;
  const den = rate ? Number(rate[2]) : 0;
  if (!(num > 0 && den > 0)) {
    throw new PreprocessError('video_decode_failed', 'cannot determine the video frame rate');
  }

  const counted = await runFfmpeg(['-i', ffmpegInput(file), '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-'], {
    ...opts,
    maxStdoutBytes: 0,
  });
  failOnError(counted.code, counted.stderr, file);
  const frames = [...counted.stderr.matchAll(/frame=\s*(\d+)/g)];
  const totalFrames = frames.length ? Number(frames[frames.length - 1][1]) : 0;
  if (totalFrames < 1) throw new PreprocessError('no_video_frames', 'the video stream contains no frames');
  return { totalFrames, fps: num / den, fpsRational: [num, den], width: Number(size[1]), height: Number(size[2]) };
}

function failOnError(code: number | null, stderr: string, file: string): void {
  if (code === 0) return;
  if (NO_VIDEO.test(stderr)) throw new PreprocessError('no_video_frames', 'the file contains no video stream');
  // Temporary file names mean nothing to the caller.
  const line = ffmpegErrorLine(stderr).split(ffmpegInput(file)).join('input');
  throw new PreprocessError('video_decode_failed', `ffmpeg cannot read the video: ${line}`);
}
