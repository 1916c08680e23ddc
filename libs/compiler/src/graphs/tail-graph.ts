import { GraphBuilder, floatAttr } from '@ivl/onnx-graph';
import { BundleManifest } from '../manifest';
import { WeightBinder } from './weight-binder';

/** Final RMSNorm and lm_head for the rows that need logits: hidden [N, H] → logits [N, vocab] in fp32. */
export function buildTailGraph(m: BundleManifest): Uint8Array {
  const l = m.config.llm;
  const g = new GraphBuilder('ivl_tail');
  const w = new WeightBinder(g, m);
  const h = g.input('hidden', m.activationType, ['rows', l.hiddenSize]);
  const x = g.op('SimplifiedLayerNormalization', [h, w.tensor('llm.norm')], { axis: -1, epsilon: floatAttr(l.rmsNormEps), stash_type: 1 });
  let logits = w.linear(x, 'llm.head');
  if (m.activationType !== 'float32') logits = g.op('Cast', [logits], { to: 1 });
  g.output(logits, 'logits', 'float32', ['rows', l.vocabSize]);
  return g.toModel();
}
