import { GraphBuilder, floatAttr, scalarTensorAttr } from '@ivl/onnx-graph';
import { BundleManifest } from '../manifest';
import { slotAttention, slotAttentionShared } from './slot-attention';
import { WeightBinder } from './weight-binder';

/**
 * Qwen2 decoder layers [from, to) over a slot KV cache: `past_key.i` / `past_value.i` [B, Hkv, C, D] are rows of
 * the stage's slot buffers (read in place), `past_len` [B] how many positions of each row are valid, `hidden`
 * [B, S, H] the S new positions of each row (S = 1 for a decode step, a chunk for prefill). The graph returns the
 * residual stream and only the new positions' keys and values (`new_key.i` / `new_value.i` [B, Hkv, S, D]), which
 * the runtime writes into its buffers. Residual adds are fused into SkipSimplifiedLayerNormalization; hidden
 * states in and out are the residual stream after a whole layer, so any split point gives the same numbers.
 * `kvType` is the element type of the cache (fp16 halves it for fp32-activation graphs).
 */
export function buildLayersGraph(m: BundleManifest, from: number, to: number, kvType: 'float32' | 'float16' = m.activationType): Uint8Array {
  const l = m.config.llm;
  if (!(from >= 0 && to <= l.numLayers && from < to)) throw new Error(`bad layer range [${from}, ${to}) for ${l.numLayers} layers`);
  const act = m.activationType;
  const g = new GraphBuilder(`ivl_layers_${from}_${to}`);
  const w = new WeightBinder(g, m);
  const H = l.hiddenSize;
  const eps = floatAttr(l.rmsNormEps);
  const hidden = g.input('hidden', act, ['batch', 'seq', H]);
  const pastLen = g.input('past_len', 'int64', ['batch']);
  const rope = { cos: w.tensor('rope.cos'), sin: w.tensor('rope.sin') };
  const pastDims = ['batch', l.numKvHeads, 'capacity', l.headDim];
  const newDims = ['batch', l.numKvHeads, 'seq', l.headDim];
  const shape = { numHeads: l.numHeads, numKvHeads: l.numKvHeads, headDim: l.headDim, act, kv: kvType };
  const pastKeys = Array.from({ length: to - from }, (_, j) => g.input(`past_key.${from + j}`, kvType, pastDims));
  const shared = slotAttentionShared(g, l.numHeads / l.numKvHeads, hidden, pastLen, pastKeys[0]);

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
    const pv = g.input(`past_value.${i}`, kvType, pastDims);
    const qkv = w.linear(x, k + 'qkv', k + 'qkv.bias');
    const attn = slotAttention(g, shape, shared, qkv, pastKeys[i - from], pv, rope);
    const o = w.linear(attn.out, k + 'o');
    const outs = g.ms('SkipSimplifiedLayerNormalization', [o, residual, w.tensor(k + 'post_norm')], { epsilon: eps }, 4);
    residual = outs[3];
    const x2 = outs[0];
    const [gate, up] = g.node('Split', [w.linear(x2, k + 'gate_up')], { axis: -1, num_outputs: 2 }, { outputs: 2 });
    const act1 = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    pending = w.linear(act1, k + 'down');
    g.output(attn.newKey, `new_key.${i}`, kvType, newDims);
    g.output(attn.newValue, `new_value.${i}`, kvType, newDims);
  }
  const out = g.op('Add', [pending!, residual]);
  g.output(out, 'hidden_out', act, ['batch', 'seq', H]);
  return g.toModel();
}
