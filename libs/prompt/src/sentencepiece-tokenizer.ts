import { SentencePieceProcessor } from '@sctg/sentencepiece-js';
import { PromptError } from './errors';
import { pieceBytes, PieceType, readSentencePieceModel, type SentencePieceModelInfo } from './sentencepiece-model';

/** An added token of the checkpoint (tokenizer_config.json / added_tokens.json), matched before sentencepiece runs. */
export interface SpAddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
}

/**
 * InternLM2's slow tokenizer: the text is split at added-token strings (at each position the longest one wins, as
 * transformers' trie does), every other chunk is encoded by sentencepiece itself (the C++ library compiled to
 * WebAssembly, from the checkpoint's tokenizer.model), and decoding is sentencepiece's decode of the kept pieces.
 */
export class SentencePieceBackend {
  private readonly byLength: SpAddedToken[];
  private readonly addedById = new Map<number, SpAddedToken>();
  private readonly addedByContent = new Map<string, SpAddedToken>();
  private readonly firstChars: Set<string>;

  private constructor(
    private readonly sp: SentencePieceProcessor,
    readonly model: SentencePieceModelInfo,
    added: readonly SpAddedToken[],
  ) {
    for (const t of added) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
    }
    this.byLength = [...this.addedByContent.values()].sort((a, b) => b.content.length - a.content.length);
    this.firstChars = new Set(this.byLength.map((t) => t.content[0]));
  }

  static async load(modelBytes: Uint8Array, added: readonly SpAddedToken[], where: string): Promise<SentencePieceBackend> {
    let model: SentencePieceModelInfo;
    try {
      model = readSentencePieceModel(modelBytes);
    } catch (e) {
      throw new PromptError('TOKENIZER_FILE_CORRUPT', `${where} is corrupt: not a sentencepiece model (${(e as Error).message})`);
    }
    if (model.pieces.length === 0) throw new PromptError('TOKENIZER_FILE_CORRUPT', `${where} is corrupt: it has no pieces`);
    const sp = new SentencePieceProcessor();
    await sp.loadFromB64StringModel(Buffer.from(modelBytes).toString('base64'));
    // The binding does not report a failed load; a model that did not load encodes everything to nothing.
    if (sp.encodeIds('a').length === 0) throw new PromptError('TOKENIZER_FILE_CORRUPT', `${where} is corrupt: sentencepiece could not load it`);
    return new SentencePieceBackend(sp, model, added);
  }

  get pieceCount(): number {
    return this.model.pieces.length;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    let chunkStart = 0;
    const flush = (end: number) => {
      if (end > chunkStart) for (const id of this.sp.encodeIds(text.slice(chunkStart, end))) ids.push(id);
    };
    for (let i = 0; i < text.length; ) {
      const hit = this.firstChars.has(text[i]) ? this.byLength.find((t) => text.startsWith(t.content, i)) : undefined;
      if (!hit) {
        i++;
        continue;
      }
      flush(i);
      ids.push(hit.id);
      i += hit.content.length;
      chunkStart = i;
    }
    flush(text.length);
    return ids;
  }

  /** Runs of pieces decode through sentencepiece; added tokens in between are their literal text. */
  decode(ids: readonly number[]): string {
    let out = '';
    let run: number[] = [];
    const flush = () => {
      if (run.length) out += this.sp.decodeIds(Int32Array.from(run));
      run = [];
    };
    for (const id of ids) {
      const added = this.addedById.get(id);
      if (added && id >= this.pieceCount) {
        flush();
        out += added.content;
      } else if (this.model.pieces[id]?.type === PieceType.UserDefined) {
        flush();
        out += this.model.pieces[id].piece;
      } else run.push(id);
    }
    flush();
    return out;
  }

  /** Bytes of one piece in decoded text (before the leading-space rule, which the caller applies). */
  bytes(id: number): Uint8Array {
    return pieceBytes(this.model.pieces[id]);
  }
}
