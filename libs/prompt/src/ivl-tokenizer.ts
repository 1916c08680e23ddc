import { Tokenizer } from '@huggingface/tokenizers';
import { PromptError } from './errors';
import type { FastAddedToken } from './fast-tokenizer-json';
import { byteLevelTokenBytes } from './byte-level';
import type { SentencePieceBackend } from './sentencepiece-tokenizer';

export interface DecodeOptions {
  /** Drop special tokens (chat markers, image tags) as chat() does with `skip_special_tokens=True`. */
  readonly skipSpecialTokens?: boolean;
}

export interface FastTokenizerJson {
  readonly added_tokens: readonly FastAddedToken[];
  readonly model: { readonly vocab: Readonly<Record<string, number>> };
  readonly normalizer?: { readonly type?: string } | null;
}

/**
 * What the tokenizer does to text before splitting it: nothing, Unicode NFC (the Qwen2 tokenizers), or something
 * this code does not model (sentencepiece's own rules, other tokenizer.json normalizers).
 */
export type TextNormalization = 'none' | 'NFC' | 'unknown';

/** How the tokenizer of an InternLM2 checkpoint differs: sentencepiece does the work, and prompts start with BOS. */
export interface SentencePieceOptions {
  readonly backend: SentencePieceBackend;
  readonly bosTokenId: number | null;
}

/**
 * A checkpoint's tokenizer: byte-level BPE plus added tokens with no BOS (the Qwen2 sizes: bos_token is null), or
 * sentencepiece BPE with byte fallback plus added tokens, BOS first (the InternLM2 sizes). Which ids count as
 * special is decided here, once, so decode() and the streaming detokenizer always agree.
 */
export class IvlTokenizer {
  readonly vocabSize: number;
  /** Put before every prompt (InternLM2's `<s>`); null when the tokenizer adds none. */
  readonly bosTokenId: number | null;
  readonly normalization: TextNormalization;
  private readonly inner: Tokenizer | null;
  private readonly sp: SentencePieceBackend | null;
  private readonly tokens: (string | undefined)[] = [];
  private readonly ids = new Map<string, number>();
  private readonly specialIds = new Set<number>();
  private readonly addedIds = new Set<number>();

  /**
   * @param json a tokenizer.json object (read from disk or built from the slow files)
   * @param extraSpecialTokens token strings transformers also counts as special: additional_special_tokens and the
   *   named eos/pad/bos/unk tokens of tokenizer_config.json, whatever their `special` flag says
   */
  constructor(json: FastTokenizerJson, extraSpecialTokens: readonly string[] = [], sentencePiece?: SentencePieceOptions) {
    for (const [token, id] of Object.entries(json.model.vocab)) this.setToken(token, id);
    for (const added of json.added_tokens) {
      this.setToken(added.content, added.id);
      this.addedIds.add(added.id);
      if (added.special) this.specialIds.add(added.id);
    }
    for (const token of extraSpecialTokens) {
      const id = this.ids.get(token);
      if (id !== undefined) this.specialIds.add(id);
    }
    this.vocabSize = this.tokens.length;
    this.sp = sentencePiece?.backend ?? null;
    this.bosTokenId = sentencePiece?.bosTokenId ?? null;
    const norm = json.normalizer?.type;
    this.normalization = this.sp ? 'unknown' : json.normalizer == null ? 'none' : norm === 'NFC' ? 'NFC' : 'unknown';
    // Our own skip handling replaces the library's, so it gets no special-token list; clean-up stays off as in Qwen2.
    this.inner = this.sp ? null : new Tokenizer(json, { clean_up_tokenization_spaces: false });
  }

  private setToken(token: string, id: number): void {
    this.tokens[id] = token;
    this.ids.set(token, id);
  }

  /** Token ids of `text`; special-token strings in it (`<|im_start|>`, `<img>`) become their ids. */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    if (this.sp) return this.sp.encode(text);
    return this.inner!.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) this.assertKnown(id);
    const kept = options.skipSpecialTokens ? ids.filter((id) => !this.specialIds.has(id)) : [...ids];
    if (kept.length === 0) return '';
    return this.sp ? this.sp.decode(kept) : this.inner!.decode(kept);
  }

  /**
   * The bytes a (non-added) token contributes to decoded text, and whether a leading space is dropped when it
   * starts the text: sentencepiece removes the dummy-prefix space of the first piece, byte-level BPE never does.
   */
  tokenBytes(id: number): { bytes: Uint8Array; dropsLeadingSpace: boolean } | undefined {
    if (this.sp) return { bytes: this.sp.bytes(id), dropsLeadingSpace: this.sp.model.addDummyPrefix };
    const token = this.tokens[id];
    const bytes = token === undefined ? undefined : byteLevelTokenBytes(token);
    return bytes && { bytes, dropsLeadingSpace: false };
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Added tokens decode as their literal text instead of through the byte-level table. */
  isAddedToken(id: number): boolean {
    return this.addedIds.has(id);
  }

  assertKnown(id: number): void {
    if (this.tokens[id] === undefined) {
      throw new PromptError('UNKNOWN_TOKEN_ID', `token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    }
  }
}
