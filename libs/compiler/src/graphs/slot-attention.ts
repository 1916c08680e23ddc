import { GraphBuilder, floatAttr } from '@ivl/onnx-graph';
import type { ElemType } from '@ivl/onnx-graph';

export interface SlotAttentionShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** Element type of q/k/v as the projection produces them. */
  act: ElemType;
  /** Element type the KV cache is stored in (the past inputs and the new key/value outputs). */
  kv: ElemType;
}

/**
 * One group of slot rows in a pass: B rows of S new positions each, attending over their own window of slot
 * buffers. A pass carries two groups (the decode rows and a prefill chunk) so that both share every weight read;
 * either may be empty (B = 0).
 */
export interface SlotGroup {
  /** [B, S, H]: the group's new positions. */
  hidden: string;
  /** int64 [B]: how many positions of each row's past buffer are valid. */
  pastLen: string;
  /** The first layer's past keys [B, Hkv, C, D], whose dim 2 is the window's capacity. */
  pastKey: string;
}

/** Values every layer of a range shares for one group: masks and rotary positions derived once from `past_len`. */
export interface SlotGroupShared {
  /** int64 [1, B·S]: past_len[b] + s, the rotary position of each new row, flattened in row order. */
  positions: string;
  /** float32 [B, 1, 1, C]: 0 where a past slot row is valid, -inf where it is padding or stale. */
  pastBias: string;
  /** float32 [1, 1, G·S, S]: causal mask within the new rows, for query rows ordered (group, s). */
  newBias: string;
  /** int64 [1]: B·S, the group's rows in the flattened pass. */
  tokens: string;
  /** int64 [1] each: B and S. */
  B: string;
  S: string;
}

/** Reshape to a computed shape in which a 0 means an empty dimension, not "copy the input's" (allowzero). */
export function reshapeTo(g: GraphBuilder, x: string, dims: string[]): string {
  return g.op('Reshape', [x, g.op('Concat', dims, { axis: 0 })], { allowzero: 1 });
}

/** Masks and positions of one group, from its `pastLen` and the shapes of its hidden rows and first past buffer. */
export function slotGroupShared(g: GraphBuilder, groups: number, grp: SlotGroup): SlotGroupShared {
  const zero = g.constInt64([0], [], 'zero');
  const one = g.constInt64([1], [], 'one');
  const dim = (shapeOf: string, axis: number) => g.op('Shape', [shapeOf], { start: axis, end: axis + 1 });
  const scalar = (d: string) => g.op('Squeeze', [d, g.constInt64([0])]);
  const B = dim(grp.hidden, 0);
  const S = dim(grp.hidden, 1);
  const pastIdx = g.op('Range', [zero, scalar(dim(grp.pastKey, 2)), one]); // [C]
  const newIdx = g.op('Range', [zero, scalar(S), one]); // [S]
  const lenCol = g.op('Unsqueeze', [grp.pastLen, g.constInt64([1])]); // [B, 1]
  const pos = g.op('Add', [lenCol, g.op('Unsqueeze', [newIdx, g.constInt64([0])])]); // [B, S]
  const tokens = g.op('Mul', [B, S]);
  const positions = reshapeTo(g, pos, [g.constInt64([1]), tokens]);
  const ninf = g.constFloat([-Infinity], [], 'ninf');
  const fzero = g.constFloat([0], [], 'fzero');
  const valid = g.op('Less', [g.op('Unsqueeze', [pastIdx, g.constInt64([0])]), lenCol]); // [B, C]
  const pastBias = g.op('Unsqueeze', [g.op('Where', [valid, fzero, ninf]), g.constInt64([1, 2])]);
  const seen = g.op('GreaterOrEqual', [g.op('Unsqueeze', [newIdx, g.constInt64([1])]), g.op('Unsqueeze', [newIdx, g.constInt64([0])])]); // [S, S]: row i sees j ≤ i
  const tiled = g.op('Tile', [g.op('Where', [seen, fzero, ninf]), g.constInt64([groups, 1])]);
  const newBias = g.op('Unsqueeze', [tiled, g.constInt64([0, 1])]);
  return { positions, pastBias, newBias, tokens, B, S };
}

/**
 * Grouped-query attention of one group's S new rows per slot over that slot's past buffer plus the new rows, with
 * standard operators so the past is read where it lies (a zero-copy input) and only the new keys and values leave
 * the graph (onnxruntime-node copies every fetched output; docs/engine-core.md). `q`, `k`, `v` are the group's
 * rows of the pass, [1, B·S, ·], rotary already applied (reference §4.6). Scores are computed separately for the
 * past and the new rows, joined, soft-maxed in fp32 and split again, so the past is never concatenated (copied).
 * Query head h uses KV head ⌊h / (numHeads / numKvHeads)⌋ as Qwen2's repeat_kv does. Every reshape spells out its
 * dimensions, so an empty group (B = 0) flows through as empty tensors.
 *
 * Returns the attention output [1, B·S, numHeads·D] (in `act`) and the new key/value rows [B, Hkv, S, D] (in `kv`).
 */
export function slotAttention(
  g: GraphBuilder,
  s: SlotAttentionShape,
  sh: SlotGroupShared,
  qkv: { q: string; k: string; v: string },
  pastKey: string,
  pastValue: string,
): { out: string; newKey: string; newValue: string } {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = s;
  const G = Hq / Hkv;
  const c = (n: number) => g.constInt64([n]);
  const toKv = (x: string) => (s.act === s.kv ? x : g.op('Cast', [x], { to: s.kv === 'float16' ? 10 : 1 }));
  const toF32 = (x: string, type: ElemType) => (type === 'float32' ? x : g.op('Cast', [x], { to: 1 }));
  // [1, B·S, Hkv·D] → [B, Hkv, S, D], then into the stored type: the new rows are attended exactly as they will
  // be read back from the cache in later steps.
  const heads = (x: string) => g.op('Transpose', [reshapeTo(g, x, [sh.B, sh.S, c(Hkv), c(D)])], { perm: [0, 2, 1, 3] });
  const newKey = toKv(heads(qkv.k));
  const newValue = toKv(heads(qkv.v));
  const kNew = toF32(newKey, s.kv);
  const vNew = toF32(newValue, s.kv);
  const kPast = toF32(pastKey, s.kv);
  const vPast = toF32(pastValue, s.kv);
  // q [1, B·S, Hq·D] → [B, Hkv, G·S, D] (query head h = kv·G + g).
  const q5 = g.op('Transpose', [reshapeTo(g, qkv.q, [sh.B, sh.S, c(Hkv), c(G), c(D)])], { perm: [0, 2, 3, 1, 4] });
  const GS = g.op('Mul', [sh.S, c(G)]);
  const q = toF32(reshapeTo(g, q5, [sh.B, c(Hkv), GS, c(D)]), s.act);
  const scale = floatAttr(1 / Math.sqrt(D));
  // Scores [B, Hkv, G·S, S] for the new rows and [B, Hkv, G·S, C] for the past; the new rows come first so a
  // past row sits at the same offset of the softmax row whatever the capacity.
  const sNew = g.op('Add', [g.ms('FusedMatMul', [q, kNew], { alpha: scale, transB: 1 })[0], sh.newBias]);
  const sPast = g.op('Add', [g.ms('FusedMatMul', [q, kPast], { alpha: scale, transB: 1 })[0], sh.pastBias]);
  const probs = g.op('Softmax', [g.op('Concat', [sNew, sPast], { axis: -1 })], { axis: -1 });
  const C = g.op('Shape', [sPast], { start: 3, end: 4 });
  const [pNew, pPast] = g.node('Split', [probs, g.op('Concat', [sh.S, C], { axis: 0 })], { axis: -1 }, { outputs: 2 });
  const o = g.op('Add', [g.op('MatMul', [pNew, vNew]), g.op('MatMul', [pPast, vPast])]); // [B, Hkv, G·S, D]
  const o5 = g.op('Transpose', [reshapeTo(g, o, [sh.B, c(Hkv), c(G), sh.S, c(D)])], { perm: [0, 3, 1, 2, 4] }); // [B, S, Hkv, G, D]
  let out = reshapeTo(g, o5, [c(1), sh.tokens, c(Hq * D)]);
  if (s.act !== 'float32') out = g.op('Cast', [out], { to: 10 });
  return { out, newKey, newValue };
}
