import type { DecodeOptions } from '../ivl-tokenizer';
import type { ChatRequest } from '../encode-request';

/** One piece of work for a tokenizer thread. */
export type TokenizerTask =
  | { op: 'encode'; text: string }
  | { op: 'encodeRequest'; request: ChatRequest }
  | { op: 'decode'; ids: number[]; options?: DecodeOptions };

export interface TokenizerCall {
  id: number;
  task: TokenizerTask;
}

/** Token ids travel as a transferred Int32Array (a 1 MiB prompt is ~100k ids). */
export type TokenizerReply =
  | { id: number; ok: true; ids?: Int32Array; text?: string; prompt?: string; imageSpans?: { start: number; length: number }[]; imageContextCount?: number }
  | { id: number; ok: false; error: { name: string; message: string; code?: string } };

/** The first message of a thread: its tokenizer is loaded (or could not be). */
export type TokenizerReady = { ready: true } | { ready: false; error: { name: string; message: string; code?: string } };
