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

/** Values every layer of a range shares: masks and rotary positions derived once from `past_len`. */
export interface SlotAttentionShared {
  /** int64 [B, S]: past_len[b] + s, the rotary position of each new row. */
  positions: string;
  /** float32 [B, 1, 1, C]: 0 where a past slot row is valid, -inf where it is padding or stale. */
  pastBias: string;
  /** float32 [1, 1, G·S, S]: causal mask within the new rows, for query rows ordered (group, s). */
  newBias: string;
}

/**
 * Mask and positions for a batch of slot rows: `pastLen` int64 [B] says how many rows of each slot's past
 * buffer (capacity C = dim 2 of `pastKey`) are valid; `hidden` [B, S, H] gives S.
 */
export function slotAttentionShared(g: GraphBuilder, groups: number, hidden: string, pastLen: string, pastKey: string): SlotAttentionShared {
  const zero = g.constInt64([0], [], 'zero');
  const one = g.constInt64([1], [], 'one');
  const scalar = (shapeOf: string, axis: number) => g.op('Squeeze', [g.op('Shape', [shapeOf], { start: axis, end: axis + 1 }), g.constInt64([0])]);
  const C = scalar(pastKey, 2);
  const S = scalar(hidden, 1);
  const pastIdx = g.op('Range', [zero, C, one]); // [C]
  const newIdx = g.op('Range', [zero, S, one]); // [S]
  const lenCol = g.op('Unsqueeze', [pastLen, g.constInt64([1])]); // [B, 1]
  const positions = g.op('Add', [lenCol, g.op('Unsqueeze', [newIdx, g.constInt64([0])])]); // [B, S]
  const ninf = g.constFloat([-Infinity], [], 'ninf');
  const fzero = g.constFloat([0], [], 'fzero');
  const valid = g.op('Less', [g.op('Unsqueeze', [pastIdx, g.constInt64([0])]), lenCol]); // [B, C]
  const pastBias = g.op('Reshape', [g.op('Where', [valid, fzero, ninf]), g.constInt64([0, 1, 1, -1])]);
  const seen = g.op('GreaterOrEqual', [g.op('Unsqueeze', [newIdx, g.constInt64([1])]), g.op('Unsqueeze', [newIdx, g.constInt64([0])])]); // [S, S]: row i sees j ≤ i
  const tiled = g.op('Tile', [g.op('Where', [seen, fzero, ninf]), g.constInt64([groups, 1])]);
  const newBias = g.op('Unsqueeze', [tiled, g.constInt64([0, 1])]);
  return { positions, pastBias, newBias };
}

/**
 * Grouped-query attention of S new rows per slot over that slot's past buffer plus the new rows, with standard
 * operators so the past is read where it lies (a zero-copy input) and only the new keys and values leave the
 * graph (onnxruntime-node copies every fetched output; docs/engine-core.md). Scores are computed separately for the
 * past and the new rows, joined, soft-maxed in fp32 and split again, so the past is never concatenated (copied).
 * Rotary is applied to q and k before the split into heads (reference §4.6, rotate_half form); query head
 * h uses KV head ⌊h / (numHeads / numKvHeads)⌋ as Qwen2's repeat_kv does.
 *
 * Returns the attention output [B, S, numHeads·D] (in `act`) and the new key/value rows [B, Hkv, S, D] (in `kv`).
 */
export function slotAttention(
  g: GraphBuilder,
  s: SlotAttentionShape,
  shared: SlotAttentionShared,
  qkv: string,
  pastKey: string,
  pastValue: string,
  rope: { cos: string; sin: string },
): { out: string; newKey: string; newValue: string } {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = s;
  const G = Hq / Hkv;
  const [q0, k0, v0] = g.node('Split', [qkv, g.constInt64([Hq * D, Hkv * D, Hkv * D])], { axis: -1 }, { outputs: 3 });
  const q1 = g.ms('RotaryEmbedding', [q0, shared.positions, rope.cos, rope.sin], { interleaved: 0, num_heads: Hq })[0];
  const k1 = g.ms('RotaryEmbedding', [k0, shared.positions, rope.cos, rope.sin], { interleaved: 0, num_heads: Hkv })[0];
  const toKv = (x: string) => (s.act === s.kv ? x : g.op('Cast', [x], { to: s.kv === 'float16' ? 10 : 1 }));
  const toF32 = (x: string, type: ElemType) => (type === 'float32' ? x : g.op('Cast', [x], { to: 1 }));
  // [B, S, Hkv·D] → [B, Hkv, S, D], then into the stored type: the new rows are attended exactly as they will be
  // read back from the cache in later steps.
  const heads = (x: string) => g.op('Transpose', [g.op('Reshape', [x, g.constInt64([0, 0, Hkv, D])])], { perm: [0, 2, 1, 3] });
  const newKey = toKv(heads(k1));
  const newValue = toKv(heads(v0));
  const kNew = toF32(newKey, s.kv);
  const vNew = toF32(newValue, s.kv);
  const kPast = toF32(pastKey, s.kv);
  const vPast = toF32(pastValue, s.kv);
  // q [B, S, Hq·D] → [B, Hkv, G·S, D] (query head h = kv·G + g).
  const q5 = g.op('Transpose', [g.op('Reshape', [q1, g.constInt64([0, 0, Hkv, G, D])])], { perm: [0, 2, 3, 1, 4] });
  const q = toF32(g.op('Reshape', [q5, g.constInt64([0, Hkv, -1, D])]), s.act);
  const scale = floatAttr(1 / Math.sqrt(D));
  // Scores [B, Hkv, G·S, S] for the new rows and [B, Hkv, G·S, C] for the past; the new rows come first so a
  // past row sits at the same offset of the softmax row whatever the capacity.
  const sNew = g.op('Add', [g.ms('FusedMatMul', [q, kNew], { alpha: scale, transB: 1 })[0], shared.newBias]);
  const sPast = g.op('Add', [g.ms('FusedMatMul', [q, kPast], { alpha: scale, transB: 1 })[0], shared.pastBias]);
  const probs = g.op('Softmax', [g.op('Concat', [sNew, sPast], { axis: -1 })], { axis: -1 });
  const S = g.op('Shape', [sNew], { start: 3, end: 4 });
  const C = g.op('Shape', [sPast], { start: 3, end: 4 });
  const [pNew, pPast] = g.node('Split', [probs, g.op('Concat', [S, C], { axis: 0 })], { axis: -1 }, { outputs: 2 });
  const o = g.op('Add', [g.op('MatMul', [pNew, vNew]), g.op('MatMul', [pPast, vPast])]); // [B, Hkv, G·S, D]
  const o5 = g.op('Transpose', [g.op('Reshape', [o, g.constInt64([0, Hkv, G, -1, D])])], { perm: [0, 3, 1, 2, 4] }); // [B, S, Hkv, G, D]
  let out = g.op('Reshape', [o5, g.constInt64([0, 0, Hq * D])]);
  if (s.act !== 'float32') out = g.op('Cast', [out], { to: 10 });
  return { out, newKey, newValue };
}
