import { GraphBuilder, floatAttr, scalarTensorAttr } from '@ivl/onnx-graph';
import { BundleManifest } from '../manifest';
import { SlotGroup, reshapeTo, slotAttention, slotGroupShared } from './slot-attention';
import { WeightBinder } from './weight-binder';

/** Input and output names of the two row groups a layers graph runs in one pass. */
export const LAYER_GROUPS = [
  { hidden: 'hidden', pastLen: 'past_len', pastKey: 'past_key', pastValue: 'past_value', out: 'hidden_out', newKey: 'new_key', newValue: 'new_value' },
  { hidden: 'chunk_hidden', pastLen: 'chunk_past_len', pastKey: 'chunk_past_key', pastValue: 'chunk_past_value', out: 'chunk_hidden_out', newKey: 'chunk_new_key', newValue: 'chunk_new_value' },
] as const;

/**
 * Qwen2 decoder layers [from, to) over a slot KV cache, for two groups of rows in one pass: the decode rows of a
 * step (`hidden` [B, 1, H]) and a prefill chunk (`chunk_hidden` [Bc, Sc, H]); either may be empty. Each group
 * reads its past from its own window of the stage's slot buffers (`past_key.i` / `chunk_past_key.i`
 * [B, Hkv, C, D], zero-copy) with `past_len` [B] valid positions per row. The groups' rows are joined for every
 * token-wise part (norms, projections, MLP), so the layer weights are read once per step however the step is
 * mixed, and split only for attention. The graph returns each group's residual stream and only its new keys and
 * values (`new_key.i` / `chunk_new_key.i` [B, Hkv, S, D]), which the runtime writes into its buffers. Residual
 * adds are fused into SkipSimplifiedLayerNormalization; hidden states in and out are the residual stream after a
 * whole layer, so any split point gives the same numbers. `kvType` is the element type of the cache (fp16 halves
 * it for fp32-activation graphs).
 */
export function buildLayersGraph(m: BundleManifest, from: number, to: number, kvType: 'float32' | 'float16' = m.activationType): Uint8Array {
  const l = m.config.llm;
  if (!(from >= 0 && to <= l.numLayers && from < to)) throw new Error(`bad layer range [${from}, ${to}) for ${l.numLayers} layers`);
  const act = m.activationType;
  const g = new GraphBuilder(`ivl_layers_${from}_${to}`);
  const w = new WeightBinder(g, m);
  const H = l.hiddenSize;
  const G = l.numHeads / l.numKvHeads;
  const eps = floatAttr(l.rmsNormEps);
  const rope = { cos: w.tensor('rope.cos'), sin: w.tensor('rope.sin') };
  const shape = { numHeads: l.numHeads, numKvHeads: l.numKvHeads, headDim: l.headDim, act, kv: kvType };
  const c = (n: number) => g.constInt64([n]);

  const groups = LAYER_GROUPS.map((names) => {
    const grp: SlotGroup = {
      hidden: g.input(names.hidden, act, [`${names.hidden}_rows`, `${names.hidden}_seq`, H]),
      pastLen: g.input(names.pastLen, 'int64', [`${names.hidden}_rows`]),
      pastKey: '',
    };
    const pastDims = [`${names.hidden}_rows`, l.numKvHeads, `${names.hidden}_capacity`, l.headDim];
    const keys = Array.from({ length: to - from }, (_, j) => g.input(`${names.pastKey}.${from + j}`, kvType, pastDims));
    const values = Array.from({ length: to - from }, (_, j) => g.input(`${names.pastValue}.${from + j}`, kvType, pastDims));
    grp.pastKey = keys[0];
    return { names, grp, keys, values, shared: slotGroupShared(g, G, grp) };
  });
  const [dec, chunk] = groups;
  // The pass's rows: every decode row, then every chunk row, as [1, T, H].
  const flat = (x: string, tokens: string) => reshapeTo(g, x, [c(1), tokens, c(H)]);
  const rows = g.op('Concat', [flat(dec.grp.hidden, dec.shared.tokens), flat(chunk.grp.hidden, chunk.shared.tokens)], { axis: 1 });
  const positions = g.op('Concat', [dec.shared.positions, chunk.shared.positions], { axis: 1 });
  const split = g.op('Concat', [dec.shared.tokens, chunk.shared.tokens], { axis: 0 });
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = l;

  let residual = rows;
  let pending: string | null = null; // the MLP output not yet added to the residual stream
  for (let i = from; i < to; i++) {
    const k = `llm.${i}.`;
    // The first layer of a range adds zeros so that it uses the same fused kernel as a layer inside a range:
    // every split point then produces bit-identical numbers.
    pending ??= g.op('ConstantOfShape', [g.op('Shape', [residual])], { value: scalarTensorAttr(act, new Uint8Array(act === 'float32' ? 4 : 2)) });
    const inNorm = g.ms('SkipSimplifiedLayerNormalization', [pending, residual, w.tensor(k + 'in_norm')], { epsilon: eps }, 4);
    residual = inNorm[3];
    const qkv = w.linear(inNorm[0], k + 'qkv', k + 'qkv.bias');
    const [q0, k0, v0] = g.node('Split', [qkv, g.constInt64([Hq * D, Hkv * D, Hkv * D])], { axis: -1 }, { outputs: 3 });
    // Rotary over the whole pass (each row at its own position; rotate_half form), then split into the groups.
    const q1 = g.ms('RotaryEmbedding', [q0, positions, rope.cos, rope.sin], { interleaved: 0, num_heads: Hq })[0];
    const k1 = g.ms('RotaryEmbedding', [k0, positions, rope.cos, rope.sin], { interleaved: 0, num_heads: Hkv })[0];
    const byGroup = (x: string) => g.node('Split', [x, split], { axis: 1 }, { outputs: 2 });
    const [qs, ks, vs] = [byGroup(q1), byGroup(k1), byGroup(v0)];
    const attn = groups.map((grp, j) => {
      const a = slotAttention(g, shape, grp.shared, { q: qs[j], k: ks[j], v: vs[j] }, grp.keys[i - from], grp.values[i - from]);
      g.output(a.newKey, `${grp.names.newKey}.${i}`, kvType, [`${grp.names.hidden}_rows`, Hkv, `${grp.names.hidden}_seq`, D]);
      g.output(a.newValue, `${grp.names.newValue}.${i}`, kvType, [`${grp.names.hidden}_rows`, Hkv, `${grp.names.hidden}_seq`, D]);
      return a.out;
    });
    const o = w.linear(g.op('Concat', attn, { axis: 1 }), k + 'o');
    const outs = g.ms('SkipSimplifiedLayerNormalization', [o, residual, w.tensor(k + 'post_norm')], { epsilon: eps }, 4);
    residual = outs[3];
    const [gate, up] = g.node('Split', [w.linear(outs[0], k + 'gate_up')], { axis: -1, num_outputs: 2 }, { outputs: 2 });
    pending = w.linear(g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]), k + 'down');
  }
  const [decOut, chunkOut] = g.node('Split', [g.op('Add', [pending!, residual]), split], { axis: 1 }, { outputs: 2 });
  for (const [grp, out] of [
    [dec, decOut],
    [chunk, chunkOut],
  ] as const) {
    const dims = g.op('Shape', [grp.grp.hidden]);
    g.output(g.op('Reshape', [out, dims], { allowzero: 1 }), grp.names.out, act, [`${grp.names.hidden}_rows`, `${grp.names.hidden}_seq`, H]);
  }
  return g.toModel();
}
