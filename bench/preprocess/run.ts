/** `npm run bench:preprocess`: decode + tiling + normalisation vs PIL on the same files; writes BENCHMARKS.md. */
import { machineLine, writeBenchSection } from '../benchmarks-file';
import { benchPreprocess } from './bench-preprocess';

benchPreprocess().then(
  ({ markdown }) => {
    const md = `## Preprocessing (\`npm run bench:preprocess\`)\n\nCommand: \`npm run bench:preprocess\`. Machine: ${machineLine()}.\n\n${markdown}`;
    writeBenchSection('preprocess', md);
    console.log(md);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
