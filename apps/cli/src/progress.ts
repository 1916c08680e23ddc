import { SingleBar, Presets } from 'cli-progress';

/** A byte-progress bar on stderr when it is a terminal; a few plain lines otherwise (CI logs stay readable). */
export function byteProgress(label: string): { update: (done: number, total: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) {
    let lastPct = -10;
    return {
      update(done, total) {
        const pct = Math.floor((100 * done) / Math.max(total, 1));
        if (pct >= lastPct + 10) {
          lastPct = pct - (pct % 10);
          process.stderr.write(`${label}: ${pct}% (${(done / 1e6).toFixed(0)} / ${(total / 1e6).toFixed(0)} MB)\n`);
        }
      },
      stop() {
        /* nothing to clear: plain lines were printed */
      },
    };
  }
  const bar = new SingleBar(
    { format: `${label} [{bar}] {percentage}% | {doneMB}/{totalMB} MB | eta {eta}s`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0, { doneMB: 0, totalMB: (total / 1e6).toFixed(0) });
        started = true;
      }
      bar.update(done, { doneMB: (done / 1e6).toFixed(0), totalMB: (total / 1e6).toFixed(0) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
