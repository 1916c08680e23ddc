import { GraphBuilder, floatAttr, scalarTensorAttr } from '@ivl/onnx-graph';
import { BundleManifest } from '../manifest';
import { WeightBinder } from './weight-binder';

/**
 * Qwen2 decoder layers [from, to) with their KV cache; one graph serves prefill, chunked prefill and batched
 * decode (GroupQueryAttention derives positions from seqlens_k). Residual adds are fused into
 * SkipSimplifiedLayerNormalization; hidden states in and out are the residual stream after a whole layer, so any
 * split point gives the same numbers.
 */
export function buildLayersGraph(m: BundleManifest, from: number, to: number): Uint8Array {
  const l = m.config.llm;
  if (!(from >= 0 && to <= l.numLayers && from < to)) throw new Error(`bad layer range [${from}, ${to}) for ${l.numLayers} layers`);
  const act = m.activationType;
  const g = new GraphBuilder(`ivl_layers_${from}_${to}`);
  const w = new WeightBinder(g, m);
  const H = l.hiddenSize;
  const eps = floatAttr(l.rmsNormEps);
  const hidden = g.input('hidden', act, ['batch', 'seq', H]);
  const seqlensK = g.input('seqlens_k', 'int32', ['batch']);
  const total = g.input('total_seq_len', 'int32', []);
  const cos = w.tensor('rope.cos');
  const sin = w.tensor('rope.sin');

  let residual = hidden;
  let pending: string | null = null; // the MLP output not yet added to the residual stream
  for (let i = from; i < to; i++) {
    const k = `llm.${i}.`;
    // The first layer of a range adds zeros so that it uses the same fused kernel as a layer inside a range:
    // every split point then produces bit-identical numbers.
    pending ??= g.op('ConstantOfShape', [g.op('Shape', [residual])], { value: scalarTensorAttr(act, new Uint8Array(act === 'float32' ? 4 : 2)) });
    const inNorm = g.ms('SkipSimplifiedLayerNormalization', [pending, residual, w.tensor(k + 'in_norm')], { epsilon: eps }, 4);
    const x = inNorm[0];
    residual = inNorm[3];
    const pk = g.input(`past_key.${i}`, act, ['batch', l.numKvHeads, 'past', l.headDim]);
    const pv = g.input(`past_value.${i}`, act, ['batch', l.numKvHeads, 'past', l.headDim]);
    const qkv = w.linear(x, k + 'qkv', k + 'qkv.bias');
    const [attn] = g.ms(
      'GroupQueryAttention',
      [qkv, '', '', pk, pv, seqlensK, total, cos, sin],
      { num_heads: l.numHeads, kv_num_heads: l.numKvHeads, do_rotary: 1, rotary_interleaved: 0 },
      [`attn_out.${i}`, `present_key.${i}`, `present_value.${i}`],
    );
    const o = w.linear(attn, k + 'o');
    const outs = g.ms('SkipSimplifiedLayerNormalization', [o, residual, w.tensor(k + 'post_norm')], { epsilon: eps }, 4);
    residual = outs[3];
    const x2 = outs[0];
    const [gate, up] = g.node('Split', [w.linear(x2, k + 'gate_up')], { axis: -1, num_outputs: 2 }, { outputs: 2 });
    const act1 = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    pending = w.linear(act1, k + 'down');
    g.output(`present_key.${i}`, `present_key.${i}`, act, ['batch', l.numKvHeads, 'total', l.headDim]);
    g.output(`present_value.${i}`, `present_value.${i}`, act, ['batch', l.numKvHeads, 'total', l.headDim]);
  }
  const out = g.op('Add', [pending!, residual]);
  g.output(out, 'hidden_out', act, ['batch', 'seq', H]);
  return g.toModel();
}
