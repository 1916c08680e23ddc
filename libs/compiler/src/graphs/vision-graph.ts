import { GraphBuilder, floatAttr } from '@ivl/onnx-graph';
import { BundleManifest } from '../manifest';
import { WeightBinder } from './weight-binder';

/**
 * InternViT (patch embedding, CLS, position table, pre-norm layers with layer scale) → drop CLS → pixel shuffle →
 * mlp1, for a batch of tiles: pixel_values [T, 3, S, S] → image_embeds [T, numImageToken, llm hidden]. The 300M
 * style uses LayerNorm and a biased qkv; the 6B style RMSNorm (weight only), no qkv bias, and one RMSNorm across
 * the full width of q and of k before the heads split (family doc §2). Both norms compute in fp32.
 *
 * Encoder layers [from, to) only, when given: a part that does not start at 0 takes the residual stream
 * `vision_hidden` [T, 1 + grid², C] instead of pixels, and a part that does not end at the last layer returns it
 * (`vision_hidden_out`) instead of the embeddings. The parts run in order are the whole encoder, each a shorter
 * call on the stage thread, so decode steps wait behind a part of a tile rather than a whole tile.
 */
export function buildVisionGraph(m: BundleManifest, from = 0, to = m.config.vision.numLayers): Uint8Array {
  const c = m.config;
  const v = c.vision;
  const C = v.hiddenSize;
  const G = c.gridSize;
  const act = m.activationType;
  if (!(from >= 0 && to <= v.numLayers && from < to)) throw new Error(`bad vision layer range [${from}, ${to}) for ${v.numLayers} layers`);
  const whole = from === 0 && to === v.numLayers;
  const g = new GraphBuilder(whole ? 'ivl_vision' : `ivl_vision_${from}_${to}`);
  const w = new WeightBinder(g, m);
  const hiddenDims = ['tiles', G * G + 1, C];
  let h = from === 0 ? embedPatches(g, w, m) : g.input('vision_hidden', act, hiddenDims);

  const eps = floatAttr(v.layerNormEps);
  const norm = (x: string, prefix: string): string =>
    v.normType === 'rms_norm'
      ? g.op('SimplifiedLayerNormalization', [x, w.tensor(prefix + '.w')], { axis: -1, epsilon: eps, stash_type: 1 })
      : g.op('LayerNormalization', [x, w.tensor(prefix + '.w'), w.tensor(prefix + '.b')], { axis: -1, epsilon: eps });
  for (let i = from; i < to; i++) {
    const k = `vision.${i}.`;
    const x = norm(h, k + 'norm1');
    const qkv = w.linear(x, k + 'qkv', v.qkvBias ? k + 'qkv.bias' : undefined);
    const [q0, k0, vv] = g.node('Split', [qkv], { axis: -1, num_outputs: 3 }, { outputs: 3 });
    const q = v.qkNormalization ? norm(q0, k + 'q_norm') : q0;
    const kk = v.qkNormalization ? norm(k0, k + 'k_norm') : k0;
    const a = g.ms('MultiHeadAttention', [q, kk, vv], { num_heads: v.numHeads })[0];
    const o = w.linear(a, k + 'proj', k + 'proj.bias');
    h = g.op('Add', [h, g.op('Mul', [o, w.tensor(k + 'ls1')])]);
    const x2 = norm(h, k + 'norm2');
    const f = g.op('Gelu', [w.linear(x2, k + 'fc1', k + 'fc1.bias')], { approximate: 'none' });
    h = g.op('Add', [h, g.op('Mul', [w.linear(f, k + 'fc2', k + 'fc2.bias'), w.tensor(k + 'ls2')])]);
  }
  if (to < v.numLayers) {
    g.output(h, 'vision_hidden_out', act, hiddenDims);
    return g.toModel();
  }

  // Pixel shuffle (reference §4.3): rows 2i+dy, columns 2j+dx → token (i, j), channels ordered (dy, dx, c).
  const body = g.op('Slice', [h, g.constInt64([1]), g.constInt64([G * G + 1]), g.constInt64([1])]);
  const grid = g.op('Reshape', [body, g.constInt64([0, G / 2, 2, G / 2, 2, C])]);
  const perm = c.psVersion === 'v2' ? [0, 1, 3, 2, 4, 5] : [0, 3, 1, 2, 4, 5];
  const shuffled = g.op('Reshape', [g.op('Transpose', [grid], { perm }), g.constInt64([0, (G * G) / 4, 4 * C])]);

  const ln = g.op('LayerNormalization', [shuffled, w.tensor('mlp1.ln.w'), w.tensor('mlp1.ln.b')], { axis: -1, epsilon: floatAttr(1e-5) });
  const f1 = g.op('Gelu', [w.linear(ln, 'mlp1.fc1', 'mlp1.fc1.bias')], { approximate: 'none' });
  const out = w.linear(f1, 'mlp1.fc2', 'mlp1.fc2.bias');
  g.output(out, 'image_embeds', act, ['tiles', c.numImageToken, c.llm.hiddenSize]);
  return g.toModel();
}

/** Patch embedding, CLS and the position table: pixel_values [T, 3, S, S] → the residual stream before layer 0. */
function embedPatches(g: GraphBuilder, w: WeightBinder, m: BundleManifest): string {
  const v = m.config.vision;
  const C = v.hiddenSize;
  const G = m.config.gridSize;
  const px = g.input('pixel_values', m.activationType, ['tiles', 3, v.imageSize, v.imageSize]);
  const conv = g.op('Conv', [px, w.tensor('vision.patch.weight'), w.tensor('vision.patch.bias')], {
    kernel_shape: [v.patchSize, v.patchSize],
    strides: [v.patchSize, v.patchSize],
  });
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.constInt64([0, C, G * G])])], { perm: [0, 2, 1] });
  const tiles = g.op('Shape', [px], { start: 0, end: 1 });
  const clsShape = g.op('Concat', [tiles, g.constInt64([1, C])], { axis: 0 });
  const cls = g.op('Expand', [w.tensor('vision.cls'), clsShape]);
  return g.op('Add', [g.op('Concat', [cls, patches], { axis: 1 }), w.tensor('vision.pos')]);
}
