import { IvlTokenizer, StopStringMatcher, StreamingDetokenizer, parseGrounding, type GroundedObject } from '@ivl/prompt';
import { type TokenLogprob, processLogits, tokenLogprob } from './logits-processing';
import { Sampler } from './sampler';
import type { TokenConstraint } from './token-constraint';
import { SamplingParams } from './sampling-params';
import { StripStream } from './strip-stream';

export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error';

export interface StepResult {
  token: number;
  /** New visible text (whole characters only; may be empty). */
  delta: string;
  finished: boolean;
  finishReason?: FinishReason;
  /** When the request asked for logprobs. */
  logprob?: TokenLogprob;
}

export interface DecoderOptions {
  params: SamplingParams;
  /** Tokens that end generation; the model card's generation_config lists [151644, 151645, 151643]. */
  eosTokenIds: number[];
  seed: number;
  /** Most tokens the context leaves room for; generation stops with 'length' there. */
  maxTokens?: number;
  /** Restricts the tokens sampled (structured outputs, tool calls). */
  constraint?: TokenConstraint;
  /** Apply the card's strip() to the answer (chat); false for raw completions, which return the text as sampled. */
  strip?: boolean;
}

/**
 * One sequence's generation state: samples each next token, turns tokens into text deltas (special tokens
 * skipped, as chat() decodes), applies stop strings and the card's strip(), and decides when it is finished. The
 * single-process generator and the pipeline driver both drive it, so they produce the same text.
 */
export class SequenceDecoder {
  readonly tokens: number[] = [];
  /** One entry per token, when logprobs were asked for. */
  readonly logprobs: TokenLogprob[] = [];
  private text = '';
  private readonly sampler: Sampler;
  private readonly detok: StreamingDetokenizer;
  private readonly stops: StopStringMatcher;
  private readonly strip = new StripStream();
  private readonly limit: number;
  finishReason?: FinishReason;
  /** Why generation ended with 'error' (a constraint that failed). */
  error?: string;

  constructor(
    private readonly tokenizer: IvlTokenizer,
    private readonly promptIds: readonly number[],
    private readonly opts: DecoderOptions,
  ) {
    this.sampler = new Sampler(opts.params, opts.seed);
    this.detok = new StreamingDetokenizer(tokenizer, opts.params.skipSpecialTokens !== false);
    this.stops = new StopStringMatcher(opts.params.stop);
    this.limit = Math.min(opts.params.maxNewTokens, opts.maxTokens ?? Infinity);
  }

  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  get outputText(): string {
    return this.text;
  }

  /** Work to await before the next `accept` (the constraint's next mask); undefined when there is none. */
  ready(): Promise<void> | undefined {
    return this.finished ? undefined : this.opts.constraint?.ready();
  }

  /**
   * Samples the next token from `logits` and advances the state. Logprobs are log_softmax of the processed scores
   * (after logit_bias, the penalties and the constraint mask; before temperature, top-k, top-p and min-p).
   */
  accept(logits: Float32Array): StepResult {
    const p = this.opts.params;
    let scores: Float32Array;
    try {
      scores = processLogits(logits, p, this.promptIds, this.tokens, this.opts.constraint);
    } catch (e) {
      // A grammar that failed ends this sequence only; the batch it ran in goes on.
      this.error = (e as Error).message;
      this.abort('error');
      return { token: -1, delta: '', finished: true, finishReason: 'error' };
    }
    const token = this.sampler.draw(scores);
    const lp = p.logprobs !== undefined ? tokenLogprob(scores, token, p.logprobs) : undefined;
    return this.push(token, lp);
  }

  /** Advances with a known token (a replay of tokens already streamed before a retry). */
  replay(token: number, logprob?: TokenLogprob): StepResult {
    this.sampler.skip(1);
    return this.push(token, logprob);
  }

  private push(token: number, logprob?: TokenLogprob): StepResult {
    if (this.finished) throw new Error('sequence already finished');
    this.tokens.push(token);
    if (logprob) this.logprobs.push(logprob);
    const eos = !this.opts.params.ignoreEos && this.opts.eosTokenIds.includes(token);
    const last = eos || this.tokens.length >= this.limit;
    this.opts.constraint?.accept(token, last);
    const step = this.advance(token, eos);
    if (step.finished) this.opts.constraint?.dispose();
    if (logprob) step.logprob = logprob;
    return step;
  }

  private advance(token: number, eos: boolean): StepResult {
    let raw = '';
    if (!eos) {
      const step = this.stops.push(this.detok.push(token));
      if (step.stopped) return this.finish('stop', step.text);
      raw = step.text;
    }
    if (eos || this.tokens.length >= this.limit) {
      const last = this.stops.push(this.detok.flush());
      raw += last.text;
      if (!last.stopped) raw += this.stops.flush().text;
      return this.finish(eos || last.stopped ? 'stop' : 'length', raw);
    }
    return this.emit(token, raw, false);
  }

  /** Ends generation early (cancel, error); nothing more is emitted. */
  abort(reason: FinishReason): void {
    if (this.finished) return;
    this.finishReason = reason;
    this.opts.constraint?.dispose();
  }

  private finish(reason: FinishReason, tail: string): StepResult {
    this.finishReason = reason;
    return this.emit(this.tokens[this.tokens.length - 1], tail, true);
  }

  private emit(token: number, raw: string, finished: boolean): StepResult {
    const delta = this.opts.strip === false ? raw : this.strip.push(raw);
    this.text += delta;
    return { token, delta, finished, finishReason: this.finishReason };
  }

  /** Grounded boxes in the answer, in pixel coordinates of the given image (tags are read from the raw tokens). */
  grounding(width: number, height: number): GroundedObject[] {
    return parseGrounding(this.tokenizer.decode(this.tokens, { skipSpecialTokens: false }), width, height);
  }
}
