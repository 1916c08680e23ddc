import { Reader } from 'protobufjs/minimal';

/** sentencepiece's piece types (sentencepiece_model.proto). */
export const PieceType = { Normal: 1, Unknown: 2, Control: 3, UserDefined: 4, Unused: 5, Byte: 6 } as const;
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

export interface SentencePiece {
  readonly piece: string;
  readonly type: PieceType;
}

/** What the tokenizer needs from a `tokenizer.model` besides the encoder itself: the piece table and prefix rule. */
export interface SentencePieceModelInfo {
  readonly pieces: readonly SentencePiece[];
  /** normalizer_spec.add_dummy_prefix: a space is put before the text, and decoding drops it again. */
  readonly addDummyPrefix: boolean;
}

/**
 * Reads the piece table of a serialised sentencepiece ModelProto (field 1 = pieces {1 piece, 2 score, 3 type},
 * field 3 = normalizer_spec {3 add_dummy_prefix}). Encoding itself is sentencepiece's own, compiled to WebAssembly;
 * this only answers id → piece, which its JavaScript binding does not expose.
 */
export function readSentencePieceModel(bytes: Uint8Array): SentencePieceModelInfo {
  const r = Reader.create(bytes);
  const pieces: SentencePiece[] = [];
  let addDummyPrefix = true;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      const end = r.uint32() + r.pos;
      let piece = '';
      let type: PieceType = PieceType.Normal;
      while (r.pos < end) {
        const t = r.uint32();
        if (t >>> 3 === 1 && (t & 7) === 2) piece = r.string();
        else if (t >>> 3 === 3 && (t & 7) === 0) type = r.int32() as PieceType;
        else r.skipType(t & 7);
      }
      pieces.push({ piece, type });
    } else if (field === 3 && (tag & 7) === 2) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const t = r.uint32();
        if (t >>> 3 === 3 && (t & 7) === 0) addDummyPrefix = r.bool();
        else r.skipType(t & 7);
      }
    } else {
      r.skipType(tag & 7);
    }
  }
  return { pieces, addDummyPrefix };
}

const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

/** The bytes a piece stands for in decoded text: `▁` is a space, `<0xNN>` one raw byte (byte fallback). */
export function pieceBytes(p: SentencePiece): Uint8Array {
  if (p.type === PieceType.Byte) {
    const m = BYTE_PIECE.exec(p.piece);
    if (m) return Uint8Array.of(parseInt(m[1], 16));
  }
  if (p.type === PieceType.Control || p.type === PieceType.Unused) return new Uint8Array(0);
  if (p.type === PieceType.Unknown) return new TextEncoder().encode(' \u2047 ');
  return new TextEncoder().encode(p.piece.replaceAll('\u2581', ' '));
}
