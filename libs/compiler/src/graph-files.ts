import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@ivl/tensor';
import { BundleManifest } from './manifest';
import { buildEmbedGraph } from './graphs/embed-graph';
import { buildLayersGraph } from './graphs/layers-graph';
import { buildTailGraph } from './graphs/tail-graph';
import { buildVisionGraph } from './graphs/vision-graph';

/** Bumped whenever graph construction changes, so stale cached graphs are never loaded. */
export const GRAPH_VERSION = 6;

/** `kv` is the KV cache's element type when it differs from the activations' (fp16 cache for an fp32 graph). */
export type GraphSpec = { kind: 'vision' } | { kind: 'embed' } | { kind: 'tail' } | { kind: 'layers'; from: number; to: number; kv?: 'float32' | 'float16' };

export function graphFileName(spec: GraphSpec): string {
  const base = spec.kind === 'layers' ? `layers.${spec.from}-${spec.to}.slot-kv${spec.kv ? `-${spec.kv}` : ''}` : spec.kind;
  return `${base}.v${GRAPH_VERSION}.onnx`;
}

export function buildGraph(m: BundleManifest, spec: GraphSpec): Uint8Array {
  switch (spec.kind) {
    case 'vision':
      return buildVisionGraph(m);
    case 'embed':
      return buildEmbedGraph(m);
    case 'tail':
      return buildTailGraph(m);
    case 'layers':
      return buildLayersGraph(m, spec.from, spec.to, spec.kv);
  }
}

/**
 * The path of a graph inside the bundle, writing it first if this plan has not needed it before. Graphs sit next
 * to `weights/` because onnxruntime only resolves external data inside the model's own directory; they hold
 * references, never weights, so a new plan costs kilobytes. Concurrent writers are safe (atomic rename).
 */
export function ensureGraph(bundleDir: string, m: BundleManifest, spec: GraphSpec): string {
  const path = join(bundleDir, graphFileName(spec));
  if (!existsSync(path)) writeFileAtomic(path, buildGraph(m, spec));
  return path;
}
