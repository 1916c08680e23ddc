// Prints (or, with --write, puts into docs/deployment.md between the sizing markers) the per-model sizing table:
// weights per stage in each format and KV bytes per token per stage, for the model card's plan of each size.
// Run: node tools/run-ts.mjs tools/sizing-table.ts [--write]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRESETS, parseModelConfig, publishedConfig } from '@ivl/checkpoint';
import { estimateStageSize } from '@ivl/compiler';
import { cardPlan } from '@ivl/plan';

/** The plan each size is shown with: one GPU while fp16 weights fit an 80 GB GPU comfortably, else card:G. */
export const SIZING_PLANS: Array<[string, string, number]> = [
  ['1b', 'InternVL2_5-1B', 1],
  ['2b', 'InternVL2_5-2B', 1],
  ['4b', 'InternVL2_5-4B', 2],
  ['8b', 'InternVL2_5-8B', 2],
  ['26b', 'InternVL2_5-26B', 4],
  ['38b', 'InternVL2_5-38B', 4],
  ['78b', 'InternVL2_5-78B', 8],
];

const gb = (b: number) => (b / 1e9).toFixed(2);

export function sizingTable(): string {
  const lines = [
    '| model | plan | stage | layers | fp16 weights | int8 weights | int4 weights | KV per token (fp16) | KV per token (int8/int4: fp32 cache) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [preset, name, g] of SIZING_PLANS) {
    const c = parseModelConfig(publishedConfig(PRESETS[preset], 'bfloat16'));
    const plan = cardPlan(g, c.llm.numLayers);
    for (const s of plan.stages) {
      const parts = { vision: s.vision, embed: s.embed, head: s.head, layers: s.ranges };
      const size = (d: 'fp16' | 'int8' | 'int4') => estimateStageSize(c, d, parts);
      const layers = s.ranges.filter(([a, b]) => b > a).map(([a, b]) => (b - a === 1 ? `${a}` : `${a}–${b - 1}`)).join(' + ');
      const extras = s.stage === 0 ? ' + vision, embed, head' : '';
      lines.push(`| ${s.stage === 0 ? name : ''} | ${s.stage === 0 ? `card:${g}` : ''} | ${s.stage} | ${layers}${extras} | ${gb(size('fp16').weightBytes)} GB | ${gb(size('int8').weightBytes)} GB | ${gb(size('int4').weightBytes)} GB | ${(size('fp16').kvBytesPerToken / 1024).toFixed(0)} KiB | ${(size('int8').kvBytesPerToken / 1024).toFixed(0)} KiB |`);
    }
  }
  return lines.join('\n');
}

const START = '<!-- sizing-table -->';
const END = '<!-- /sizing-table -->';

export function docWithTable(doc: string): string {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/deployment.md has no ${START} … ${END} block`);
  return doc.slice(0, a + START.length) + '\n' + sizingTable() + '\n' + doc.slice(b);
}

if (require.main === module) {
  const path = join(__dirname, '..', '..', 'docs', 'deployment.md');
  if (process.argv.includes('--write')) {
    writeFileSync(path, docWithTable(readFileSync(path, 'utf8')));
    console.log(`updated ${path}`);
  } else console.log(sizingTable());
}
