import { Tokenizer } from '@huggingface/tokenizers';
import { PromptError } from './errors';
import type { FastAddedToken } from './fast-tokenizer-json';

export interface DecodeOptions {
  /** Drop special tokens (chat markers, image tags) as chat() does with `skip_special_tokens=True`. */
  readonly skipSpecialTokens?: boolean;
}

export interface FastTokenizerJson {
  readonly added_tokens: readonly FastAddedToken[];
  readonly model: { readonly vocab: Readonly<Record<string, number>> };
}

/**
 * A checkpoint's tokenizer: byte-level BPE plus added tokens, no BOS (InternVL2.5's bos_token is null).
 * Which ids count as special is decided here, once, so decode() and the streaming detokenizer always agree.
 */
export class IvlTokenizer {
  readonly vocabSize: number;
  private readonly inner: Tokenizer;
  private readonly tokens: (string | undefined)[] = [];
  private readonly ids = new Map<string, number>();
  private readonly specialIds = new Set<number>();
  private readonly addedIds = new Set<number>();

  /**
   * @param json a tokenizer.json object (read from disk or built from the slow files)
   * @param extraSpecialTokens token strings transformers also counts as special: additional_special_tokens and the
   *   named eos/pad/bos/unk tokens of tokenizer_config.json, whatever their `special` flag says
   */
  constructor(json: FastTokenizerJson, extraSpecialTokens: readonly string[] = []) {
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
    // Our own skip handling replaces the library's, so it gets no special-token list; clean-up stays off as in Qwen2.
    this.inner = new Tokenizer(json, { clean_up_tokenization_spaces: false });
  }

  private setToken(token: string, id: number): void {
    this.tokens[id] = token;
    this.ids.set(token, id);
  }

  /** Token ids of `text`; special-token strings in it (`<|im_start|>`, `<img>`) become their ids. */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    return this.inner.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) this.assertKnown(id);
    const kept = options.skipSpecialTokens ? ids.filter((id) => !this.specialIds.has(id)) : [...ids];
    return kept.length === 0 ? '' : this.inner.decode(kept);
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
