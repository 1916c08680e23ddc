/**
 * GPT-2 style byte-level alphabet used by Qwen2's BPE: every byte is shown as one printable character so that
 * vocabulary entries are valid strings. Printable Latin-1 bytes stand for themselves; the rest are shifted to
 * U+0100 and up, in byte order.
 */
function buildByteToChar(): string[] {
  const table = new Array<string>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + shifted++);
  }
  return table;
}

export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The raw bytes a byte-level vocabulary entry stands for, or undefined when it is not byte-level text. */
export function byteLevelTokenBytes(token: string): Uint8Array | undefined {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token[i]);
    if (b === undefined) return undefined;
    bytes[i] = b;
  }
  return bytes;
}
