import type { IvlTokenizer } from './ivl-tokenizer';

/**
 * Turns generated ids into text deltas that only ever contain whole characters: a character spread over several
 * byte-level tokens is held until its last byte arrives. The deltas concatenate to exactly
 * `tokenizer.decode(allIds, { skipSpecialTokens })`, U+FFFD included where the bytes really are invalid.
 */
export class StreamingDetokenizer {
  // A streaming UTF-8 decoder keeps an unfinished sequence between calls and emits U+FFFD exactly where a
  // one-shot decode of the same bytes would, so deltas add up to the full decode.
  private utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  // sentencepiece drops the dummy-prefix space of the first text it decodes; nothing is emitted before that.
  private atStart = true;

  constructor(
    private readonly tokenizer: IvlTokenizer,
    private readonly skipSpecialTokens: boolean,
  ) {}

  /** The text that `tokenId` completes; empty while a character is still incomplete or the token is skipped. */
  push(tokenId: number): string {
    this.tokenizer.assertKnown(tokenId);
    // Skipped tokens are removed before decoding, so bytes on either side of one join up, as in decode().
    if (this.skipSpecialTokens && this.tokenizer.isSpecial(tokenId)) return '';
    const token = this.tokenizer.idToToken(tokenId)!;
    if (this.tokenizer.isAddedToken(tokenId)) {
      // An added token ends the byte run: decode() converts each run on its own, so a dangling prefix becomes U+FFFD.
      this.atStart = true;
      return this.utf8.decode() + token;
    }
    const piece = this.tokenizer.tokenBytes(tokenId);
    if (piece === undefined) throw new Error(`token ${tokenId} (${JSON.stringify(token)}) is not byte-level text`);
    let bytes = piece.bytes;
    if (this.atStart && bytes.length > 0) {
      this.atStart = false;
      if (piece.dropsLeadingSpace && bytes[0] === 0x20) bytes = bytes.subarray(1);
    }
    return this.utf8.decode(bytes, { stream: true });
  }

  /** Whatever is still held at the end of generation (U+FFFD for an unfinished character). */
  flush(): string {
    return this.utf8.decode();
  }
}
