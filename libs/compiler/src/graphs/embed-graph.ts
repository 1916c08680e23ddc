import { GraphBuilder } from '@ivl/onnx-graph';
import { BundleManifest } from '../manifest';
import { WeightBinder } from './weight-binder';

/** Token embedding lookup: input_ids [B, S] → embeds [B, S, H] in the activation type. */
export function buildEmbedGraph(m: BundleManifest): Uint8Array {
  const g = new GraphBuilder('ivl_embed');
  const w = new WeightBinder(g, m);
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  let e = g.op('Gather', [w.tensor('llm.embed'), ids], { axis: 0 });
  if (w.ref('llm.embed').type !== m.activationType) e = g.op('Cast', [e], { to: m.activationType === 'float32' ? 1 : 10 });
  g.output(e, 'embeds', m.activationType, ['batch', 'seq', m.config.llm.hiddenSize]);
  return g.toModel();
}
