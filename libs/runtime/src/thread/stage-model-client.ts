import { findThreadEntry } from '@ivl/thread-entry';
import { Worker } from 'node:worker_threads';
import type { ActArray } from '../activations';
import type { SeqChunk } from '../slot-kv-cache';
import type { FrontInput, StageModelConfig, StageModelInfo, StageStats } from './stage-model';
import { CallMessage, ReplyMessage, transferables } from './protocol';
import { TileEmbeddingCache } from '../tile-embedding-cache';

/** An error from the onnxruntime thread, with its original class name (e.g. KvBudgetError). */
export class EngineError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}


/** The main-thread handle on a StageModel running in its own worker thread. */
export class StageModelClient {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead?: Error;
  private readonly deathListeners: Array<(e: Error) => void> = [];
  private closing = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: ReplyMessage) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new EngineError(m.error.name, m.error.message));
    });
    const fail = (e: Error) => {
      if (this.dead) return;
      this.dead = e;
      if (!this.closing) for (const f of this.deathListeners) f(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`onnxruntime thread exited (code ${code})`)));
  }

  /** Why the onnxruntime thread is gone (crashed or exited), or undefined while it runs. */
  get deadReason(): Error | undefined {
    return this.dead;
  }

  /** Called once if the thread dies without close(): this stage can no longer compute. */
  onDeath(f: (e: Error) => void): void {
    this.deathListeners.push(f);
  }

  static async start(cfg: StageModelConfig): Promise<{ client: StageModelClient; info: StageModelInfo }> {
    const worker = new Worker(findThreadEntry('ort-thread.js'), { workerData: cfg });
    const client = new StageModelClient(worker);
    const info = (await client.call('init', [])) as StageModelInfo;
    client.visionParts = info.visionParts;
    return { client, info };
  }

  private call(method: string, args: unknown[]): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    const msg: CallMessage = { id, method, args };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(msg, transferables(args));
    });
  }

  /**
   * Tiles per call of the vision encoder. Calls on the onnxruntime thread run in arrival order, so a large image
   * sent tile by tile lets the ring's steps run between its tiles instead of waiting for the whole image.
   */
  visionTilesPerCall = 1;

  /** Calls per tile group: the encoder's parts, each a call, so steps run between the parts of a tile too. */
  private visionParts = 1;

  /** Per-tile embedding cache (stage 0); undefined = off. */
  visionCache?: TileEmbeddingCache;

  /**
   * Arrays passed here are transferred when they own their buffer: do not use them afterwards. `tileKeys`: the
   * tiles' keys when the caller has computed them already (TileEmbeddingCache.tileKeys).
   */
  async vision(pixels: Float32Array, numTiles: number, tileKeys?: string[]): Promise<ActArray> {
    const k = this.visionCache ? 1 : Math.max(1, this.visionTilesPerCall);
    if (numTiles <= k && !this.visionCache) return this.visionTiles(pixels, numTiles);
    const per = pixels.length / numTiles;
    const parts: ActArray[] = [];
    for (let t = 0; t < numTiles; t += k) {
      const n = Math.min(k, numTiles - t);
      const tile = pixels.subarray(t * per, (t + n) * per);
      const key = this.visionCache ? (n === 1 && tileKeys?.[t]) || TileEmbeddingCache.key(tile) : '';
      let rows = this.visionCache?.get(key);
      if (!rows) {
        rows = await this.visionTiles(tile, n);
        this.visionCache?.set(key, rows);
      }
      parts.push(rows);
    }
    const out = parts[0] instanceof Float32Array ? new Float32Array(parts.reduce((a, p) => a + p.length, 0)) : new Uint16Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p as never, o);
      o += p.length;
    }
    return out;
  }

  /**
   * A few tiles through every part of the encoder, one call per part. While the ring's steps are running, a part
   * is sent the moment a step's last call (`back`) answers, before the next step's `front` can be sent: otherwise
   * parts would land between a step's `front` and its `back` on the thread's FIFO, and a token could wait for
   * several parts instead of one.
   */
  private async visionTiles(tile: Float32Array, n: number): Promise<ActArray> {
    if (this.visionParts <= 1) return (await this.betweenSteps('runVision', [tile, n])) as ActArray;
    let x: ActArray = tile;
    for (let p = 0; p < this.visionParts; p++) x = (await this.betweenSteps('runVisionPart', [p, x, n])) as ActArray;
    return x;
  }

  /** Step calls (front, layers, back) sent and not yet answered. */
  private stepCalls = 0;
  /** Calls waiting for a step to end, each sent by its thunk. */
  private readonly stepWaiters: Array<() => void> = [];

  /** A call sent at once when no step is under way, else as soon as a step's `back` answers (or the steps stop). */
  private betweenSteps(method: string, args: unknown[]): Promise<unknown> {
    if (this.stepCalls === 0 || this.dead) return this.call(method, args);
    return new Promise((resolve, reject) => this.stepWaiters.push(() => void this.call(method, args).then(resolve, reject)));
  }

  private stepCall<T>(method: 'front' | 'layers' | 'back', args: unknown[]): Promise<T> {
    this.stepCalls++;
    const done = () => {
      this.stepCalls--;
      // This handler runs before the caller's own continuation (it was attached first), so a call sent here
      // reaches the thread ahead of the next step's front.
      if (method === 'back' && this.stepWaiters.length) return this.stepWaiters.shift()!();
      // No step under way once the callers' continuations have run: nothing more to wait for.
      setImmediate(() => {
        if (this.stepCalls === 0 || this.dead) this.stepWaiters.splice(0).forEach((w) => w());
      });
    };
    const p = this.call(method, args) as Promise<T>;
    p.then(done, done);
    return p;
  }

  front(input: FrontInput): Promise<ActArray> {
    return this.stepCall('front', [input]);
  }

  layers(hidden: ActArray, spans: SeqChunk[]): Promise<ActArray> {
    return this.stepCall('layers', [hidden, spans]);
  }

  back(hidden: ActArray, spans: SeqChunk[], logitRows: number[]): Promise<Float32Array> {
    return this.stepCall('back', [hidden, spans, logitRows]);
  }

  release(seqs: string[]): Promise<number> {
    return this.call('release', [seqs]) as Promise<number>;
  }

  evictIdle(maxIdleMs: number): Promise<string[]> {
    return this.call('evictIdle', [maxIdleMs]) as Promise<string[]>;
  }

  stats(): Promise<StageStats> {
    return this.call('stats', []) as Promise<StageStats>;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}
