import { workerCommand } from '@ivl/worker-node';

// The worker image's entry point: `node dist/worker.js --model ... --stage K --peers ...`.
const cmd = workerCommand().name('ivl-worker');
cmd.parseAsync(process.argv).catch((e: Error) => {
  console.error(`ivl-worker: ${e.message}`);
  process.exit(1);
});
