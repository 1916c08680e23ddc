import { availableParallelism } from 'node:os';
import { findThreadEntry } from '@ivl/thread-entry';
import { Worker } from 'node:worker_threads';
import { type ChatRequest, type EncodedRequest, encodeRequest } from '../encode-request';
import { PromptError, type PromptErrorCode } from '../errors';
import type { DecodeOptions, IvlTokenizer } from '../ivl-tokenizer';
import type { TokenizerCall, TokenizerReady, TokenizerReply, TokenizerTask } from './tokenizer-protocol';

/** The tokenizer work a server hands off: encoding prompts (plain or through the chat template) and decoding ids. */
export interface PromptEncoder {
  encode(text: string): Promise<number[]>;
  encodeRequest(request: ChatRequest): Promise<EncodedRequest>;
  decode(ids: readonly number[], options?: DecodeOptions): Promise<string>;
}

/** The same calls on this thread (tests, tools, and workers whose event loop serves nobody else). */
export function inThreadEncoder(tokenizer: IvlTokenizer): PromptEncoder {
  return {
    encode: async (text) => tokenizer.encode(text),
    encodeRequest: async (request) => encodeRequest(tokenizer, request),
    decode: async (ids, options) => tokenizer.decode(ids, options),
  };
}

/** Every thread is busy and the wait list is full: the caller should answer 503 with Retry-After. */
export class TokenizerBusyError extends Error {
  override readonly name = 'TokenizerBusyError';
}

/** One call ran past the pool's deadline; its thread was ended and replaced. */
export class TokenizeTimeoutError extends Error {
  override readonly name = 'TokenizeTimeoutError';
}

export interface TokenizerPoolOptions {
  /** Checkpoint directory; each thread loads its tokenizer with loadTokenizer, as the caller does. */
  modelDir: string;
  /** Threads (default: one less than the cores, between 2 and 4). */
  threads?: number;
  /**
   * Texts of at least this many characters are long (default 16,384, ~0.1 s of BPE at worst): with two threads or
   * more, long ones may hold all threads but one, so a short prompt never waits behind long ones.
   */
  longChars?: number;
  /** Calls waiting for a free thread; one more is refused with TokenizerBusyError (default 64). */
  maxQueued?: number;
  /** Longest one call may run on its thread (default 30 s); past it the thread is ended and the call fails. */
  timeoutMs?: number;
}

export const defaultTokenizerThreads = () => Math.max(2, Math.min(4, availableParallelism() - 1));

interface Pending {
  task: TokenizerTask;
  long: boolean;
  resolve: (r: Extract<TokenizerReply, { ok: true }>) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  current?: Pending & { id: number; timer: NodeJS.Timeout };
}

/**
 * Tokenization on a few worker threads, so that a long prompt costs its own request time and never the event loop
 * that serves every other client (BPE of 1 MiB without spaces is ~18 s of one core). Calls run in arrival order, one
 * per thread; a bounded wait list turns overload into TokenizerBusyError, and a deadline per call ends a thread that
 * is stuck on a pathological input (a synchronous encode cannot be interrupted any other way) and starts another.
 * Results are those of the same tokenizer on the calling thread: the threads load it from the same files.
 */
export class TokenizerPool implements PromptEncoder {
  private readonly slots = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private longRunning = 0;
  private closed = false;
  private failure?: Error;
  readonly threads: number;
  readonly maxQueued: number;
  readonly timeoutMs: number;
  readonly longChars: number;

  private constructor(private readonly opts: TokenizerPoolOptions) {
    this.threads = opts.threads ?? defaultTokenizerThreads();
    this.maxQueued = opts.maxQueued ?? 64;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.longChars = opts.longChars ?? 16_384;
    if (!Number.isInteger(this.threads) || this.threads < 1) throw new Error(`tokenizer threads must be a positive integer, got ${this.threads}`);
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 0) throw new Error(`tokenizer queue must be a non-negative integer, got ${this.maxQueued}`);
    if (!(this.timeoutMs > 0)) throw new Error(`tokenize timeout must be positive, got ${this.timeoutMs}`);
  }

  /** Starts the threads and resolves once every one has loaded the tokenizer (rejects if one cannot). */
  static async start(opts: TokenizerPoolOptions): Promise<TokenizerPool> {
    const pool = new TokenizerPool(opts);
    try {
      await Promise.all(Array.from({ length: pool.threads }, () => pool.spawn()));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  async encode(text: string): Promise<number[]> {
    return Array.from((await this.call({ op: 'encode', text })).ids!);
  }

  async encodeRequest(request: ChatRequest): Promise<EncodedRequest> {
    const r = await this.call({ op: 'encodeRequest', request });
    return { ids: Array.from(r.ids!), prompt: r.prompt!, imageSpans: r.imageSpans!, imageContextCount: r.imageContextCount! };
  }

  async decode(ids: readonly number[], options?: DecodeOptions): Promise<string> {
    return (await this.call({ op: 'decode', ids: [...ids], options })).text!;
  }

  /** Calls running and waiting now (for metrics and tests). */
  get load(): { running: number; queued: number } {
    let running = 0;
    for (const s of this.slots) if (s.current) running++;
    return { running, queued: this.queue.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    const gone = new Error('the tokenizer pool is closed');
    for (const p of this.queue.splice(0)) p.reject(gone);
    await Promise.all(
      [...this.slots].map((s) => {
        this.slots.delete(s);
        this.finish(s)?.reject(gone);
        return s.worker.terminate();
      }),
    );
  }

  private call(task: TokenizerTask): Promise<Extract<TokenizerReply, { ok: true }>> {
    if (this.closed) return Promise.reject(new Error('the tokenizer pool is closed'));
    if (this.failure && this.slots.size === 0) return Promise.reject(this.failure);
    if (this.queue.length >= this.maxQueued && !this.idleSlot()) {
      return Promise.reject(new TokenizerBusyError(`all ${this.threads} tokenizer threads are busy and ${this.queue.length} prompts are waiting`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ task, long: taskChars(task) >= this.longChars, resolve, reject });
      this.pump();
    });
  }

  private idleSlot(): Slot | undefined {
    for (const s of this.slots) if (s.ready && !s.current) return s;
    return undefined;
  }

  /** Starts waiting calls on idle threads in arrival order, skipping long ones while their share is taken. */
  private pump(): void {
    const longLimit = Math.max(1, this.threads - 1);
    for (let slot = this.idleSlot(); slot; slot = this.idleSlot()) {
      const i = this.queue.findIndex((p) => !p.long || this.longRunning < longLimit);
      if (i < 0) return;
      const [p] = this.queue.splice(i, 1);
      const id = this.nextId++;
      const timer = setTimeout(() => this.timeOut(slot!), this.timeoutMs);
      if (p.long) this.longRunning++;
      slot.current = { ...p, id, timer };
      slot.worker.postMessage({ id, task: p.task } satisfies TokenizerCall);
    }
  }

  /** The call a thread was running, now no longer running (answered, failed, timed out or closed). */
  private finish(slot: Slot): Slot['current'] {
    const p = slot.current;
    if (!p) return undefined;
    slot.current = undefined;
    clearTimeout(p.timer);
    if (p.long) this.longRunning--;
    return p;
  }

  private timeOut(slot: Slot): void {
    const p = this.finish(slot);
    if (!p) return;
    this.retire(slot);
    p.reject(new TokenizeTimeoutError(`tokenizing took longer than ${this.timeoutMs} ms`));
    this.pump();
  }

  /** Ends a thread (stuck or crashed) and starts its replacement; waiting calls go to the others meanwhile. */
  private retire(slot: Slot): void {
    if (!this.slots.delete(slot)) return;
    void slot.worker.terminate();
    if (!this.closed) this.spawn().catch((e: Error) => this.fail(e));
  }

  /** A replacement that cannot load the tokenizer (files gone): nothing can be served any more. */
  private fail(e: Error): void {
    this.failure = e;
    if (this.slots.size === 0) for (const p of this.queue.splice(0)) p.reject(e);
  }

  private spawn(): Promise<void> {
    const worker = new Worker(findThreadEntry('tokenizer-thread.js'), { workerData: { modelDir: this.opts.modelDir } });
    worker.unref();
    const slot: Slot = { worker, ready: false };
    this.slots.add(slot);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: TokenizerReply | TokenizerReady) => {
        if ('ready' in m) {
          if (!m.ready) {
            this.slots.delete(slot);
            void worker.terminate();
            reject(reviveError(m.error));
            return;
          }
          slot.ready = true;
          resolve();
          this.pump();
          return;
        }
        if (!slot.current || slot.current.id !== m.id) return;
        const p = this.finish(slot)!;
        if (m.ok) p.resolve(m);
        else p.reject(reviveError(m.error));
        this.pump();
      });
      const died = (e: Error) => {
        if (!this.slots.has(slot)) return;
        const p = this.finish(slot);
        if (!slot.ready) {
          this.slots.delete(slot);
          reject(e);
          return;
        }
        this.retire(slot);
        p?.reject(e);
        this.pump();
      };
      worker.on('error', died);
      worker.on('exit', (code) => died(new Error(`tokenizer thread exited (code ${code})`)));
    });
  }
}

/** Characters of text a call tokenizes (a decode: its ids, a few characters each). */
function taskChars(task: TokenizerTask): number {
  switch (task.op) {
    case 'encode':
      return task.text.length;
    case 'decode':
      return task.ids.length * 4;
    case 'encodeRequest': {
      const r = task.request;
      return (r.system?.length ?? 0) + r.question.length + (r.history ?? []).reduce((a, t) => a + t.question.length + t.answer.length, 0);
    }
  }
}

/** PromptErrors keep their class and code across the thread boundary, so callers map them as before. */
function reviveError(e: { name: string; message: string; code?: string }): Error {
  if (e.name === 'PromptError' && e.code) return new PromptError(e.code as PromptErrorCode, e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

