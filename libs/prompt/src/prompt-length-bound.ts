import { type ChatRequest, buildChatPrompt } from './encode-request';
import { DEFAULT_NUM_IMAGE_TOKEN, IMAGE_PLACEHOLDER } from './image-placeholders';
import type { IvlTokenizer } from './ivl-tokenizer';

/**
 * A lower bound on the number of tokens a text encodes to, found without tokenizing it, so that a prompt that is
 * certainly longer than the context is refused before it costs seconds of BPE (a 1 MiB run of one letter takes
 * ~18 s). Every token covers a piece of the text's (normalized) UTF-8 bytes, and the vocabulary says how much one
 * token can cover at most:
 *
 * - bytes in all: at most the longest vocabulary entry (128 bytes for Qwen2: a run of spaces);
 * - bytes of one class (ASCII letters, digits, whitespace, other ASCII, non-ASCII): at most the most any entry has
 *   of that class (Qwen2: 41 letters, 1 digit);
 * - a run of one repeated byte: at most the longest run of that byte inside any entry, and of the tokens covering
 *   a run only the first and the last can reach outside it (Qwen2: 8 × `a`, so 1 MiB of `a` is ≥ 131,070 tokens).
 *
 * The largest of the three holds. It is exact arithmetic on the vocabulary, never an estimate: a prompt it refuses
 * would have been refused after tokenizing too. Tokenizers whose normalization is not modelled here (sentencepiece
 * may collapse whitespace) get the bound 0.
 */
export class PromptLengthBound {
  private constructor(
    private readonly maxBytes: number,
    private readonly maxClassBytes: readonly number[],
    /** Per byte value: the longest run of it inside one vocabulary entry (0: no entry contains it). */
    private readonly maxRun: Uint32Array,
    private readonly normalization: 'none' | 'NFC' | null,
  ) {}

  static of(tokenizer: IvlTokenizer): PromptLengthBound {
    let bound = cache.get(tokenizer);
    if (!bound) {
      bound = PromptLengthBound.scan(tokenizer);
      cache.set(tokenizer, bound);
    }
    return bound;
  }

  private static scan(tok: IvlTokenizer): PromptLengthBound {
    const normalization = tok.normalization === 'unknown' ? null : tok.normalization;
    let maxBytes = 0;
    const maxClassBytes = new Array<number>(CLASS_COUNT).fill(0);
    const maxRun = new Uint32Array(256);
    const perClass = new Array<number>(CLASS_COUNT);
    const utf8 = new TextEncoder();
    for (let id = 0; id < tok.vocabSize; id++) {
      const token = tok.idToToken(id);
      if (token === undefined) continue;
      const bytes = tok.isAddedToken(id) ? utf8.encode(token) : tok.tokenBytes(id)?.bytes;
      if (!bytes) continue;
      maxBytes = Math.max(maxBytes, bytes.length);
      perClass.fill(0);
      for (let i = 0, run = 0; i < bytes.length; i++) {
        perClass[byteClass(bytes[i])]++;
        run = i > 0 && bytes[i] === bytes[i - 1] ? run + 1 : 1;
        if (run > maxRun[bytes[i]]) maxRun[bytes[i]] = run;
      }
      for (let c = 0; c < CLASS_COUNT; c++) maxClassBytes[c] = Math.max(maxClassBytes[c], perClass[c]);
    }
    return new PromptLengthBound(maxBytes, maxClassBytes, maxRun, normalization);
  }

  /** At least this many tokens: the text as sent or as normalized, whichever the tokenizer sees, gives no fewer. */
  minTokens(text: string): number {
    if (this.normalization === null || text.length === 0) return 0;
    const raw = this.bytesBound(Buffer.from(text, 'utf8'));
    // NFC changes only non-ASCII text (and the ASCII letter a combining mark follows): pure ASCII is already NFC.
    // Both forms are counted and the smaller kept, so the bound holds whether added tokens match before or after.
    if (this.normalization === 'none' || !NON_ASCII.test(text)) return raw;
    return Math.min(raw, this.bytesBound(Buffer.from(text.normalize('NFC'), 'utf8')));
  }

  /**
   * At least this many prompt tokens for a chat request, as encodeRequest would build it: the template text around
   * each `<image>` (each piece is encoded on its own), every image block, and BOS.
   */
  minRequestTokens(tokenizer: IvlTokenizer, request: ChatRequest): number {
    const numImageToken = request.numImageToken ?? DEFAULT_NUM_IMAGE_TOKEN;
    const images = (request.numPatchesList ?? []).reduce((a, n) => a + n * numImageToken + 2, 0);
    const text = buildChatPrompt(request)
      .split(IMAGE_PLACEHOLDER)
      .reduce((a, piece) => a + this.minTokens(piece), 0);
    return text + images + (tokenizer.bosTokenId === null ? 0 : 1);
  }

  private bytesBound(bytes: Uint8Array): number {
    const classBytes = new Array<number>(CLASS_COUNT).fill(0);
    let runs = 0;
    for (let i = 0; i < bytes.length; ) {
      const b = bytes[i];
      let j = i + 1;
      while (j < bytes.length && bytes[j] === b) j++;
      classBytes[byteClass(b)] += j - i;
      const longest = this.maxRun[b];
      // Tokens inside the run are runs of b themselves; the first and the last may also cover bytes beside it.
      if (longest > 0) runs += Math.max(0, Math.ceil((j - i) / longest) - 2);
      i = j;
    }
    let best = this.maxBytes > 0 ? Math.ceil(bytes.length / this.maxBytes) : 0;
    for (let c = 0; c < CLASS_COUNT; c++) {
      if (classBytes[c] > 0 && this.maxClassBytes[c] > 0) best = Math.max(best, Math.ceil(classBytes[c] / this.maxClassBytes[c]));
    }
    return Math.max(best, runs);
  }
}

const cache = new WeakMap<IvlTokenizer, PromptLengthBound>();
const NON_ASCII = /[\u0080-\uffff]/;
const CLASS_COUNT = 5;

/** ASCII letters, digits, whitespace, other ASCII, and any byte of a multi-byte character. */
function byteClass(b: number): number {
  if (b >= 0x80) return 4;
  if ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)) return 0;
  if (b >= 0x30 && b <= 0x39) return 1;
  if (b === 0x20 || (b >= 0x09 && b <= 0x0d)) return 2;
  return 3;
}
