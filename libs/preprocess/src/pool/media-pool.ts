/**
 * A bounded pool of worker threads for image and video preprocessing. Stage 0 decodes and tiles media here so that
 * its event loop (gRPC health, the ring monitor, Redis, BullMQ lock renewals) never waits behind a 7000×7000 image:
 * measured on the main thread, one such image blocked the loop for up to 2.3 s. Each thread works on one image at a
 * time, so the pool size is also the bound on images decoded at once (and on their decoded RGB memory).
 */
import { findThreadEntry } from '@ivl/thread-entry';
import { Worker } from 'node:worker_threads';
// sharp is loaded on the main thread too, so that its shared libraries stay loaded when a media thread ends.
import 'sharp';
import type { LoadImageOptions, LoadedImage } from '../load-image';
import type { LoadVideoOptions, LoadedVideo } from '../load-video';
import type { MediaLoader } from '../media-loader';
import { MediaReply, MediaTask, MediaWork, fromWire } from './protocol';

export interface MediaPoolOptions {
  /** Worker threads, i.e. images decoded at once. Default 1. */
  threads?: number;
  /** Tasks that may wait for a thread; one more is refused with MediaPoolBusyError. Default 256. */
  maxQueued?: number;
}

/** The pool's queue is full: a transient condition, so the job is retried rather than failed for good. */
export class MediaPoolBusyError extends Error {
  override readonly name = 'MediaPoolBusyError';
}


type Job = { task: MediaWork; resolve: (v: LoadedImage | LoadedVideo) => void; reject: (e: Error) => void };

interface Slot {
  worker: Worker;
  job?: Job;
}

export class MediaPool implements MediaLoader {
  readonly threads: number;
  readonly maxQueued: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;
  private readonly script = findThreadEntry('media-thread.js');

  constructor(o: MediaPoolOptions = {}) {
    this.threads = o.threads ?? 1;
    this.maxQueued = o.maxQueued ?? 256;
    if (!Number.isInteger(this.threads) || this.threads < 1) throw new RangeError(`media pool threads must be a positive integer, got ${this.threads}`);
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 0) throw new RangeError(`media pool maxQueued must be a non-negative integer, got ${this.maxQueued}`);
  }

  /** Tasks waiting for a thread. */
  get queued(): number {
    return this.queue.length;
  }

  /** Tasks being worked on now. */
  get busy(): number {
    return this.slots.filter((s) => s.job).length;
  }

  loadImage(bytes: Uint8Array, opts: Omit<LoadImageOptions, 'out'> = {}): Promise<LoadedImage> {
    return this.submit({ kind: 'image', bytes, opts }) as Promise<LoadedImage>;
  }

  loadVideo(input: string | Uint8Array, opts: LoadVideoOptions = {}): Promise<LoadedVideo> {
    return this.submit({ kind: 'video', input, opts }) as Promise<LoadedVideo>;
  }

  /** Refuses queued tasks, lets running ones finish (a thread is never ended inside libvips), then ends the threads. */
  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new Error('the media pool is closed'));
    await Promise.all(
      this.slots.splice(0).map(async (s) => {
        if (s.job) await new Promise<void>((r) => s.worker.once('message', () => r()).once('exit', () => r()));
        await s.worker.terminate();
      }),
    );
  }

  private submit(task: MediaWork): Promise<LoadedImage | LoadedVideo> {
    if (this.closed) return Promise.reject(new Error('the media pool is closed'));
    if (this.queue.length >= this.maxQueued && !this.freeSlot()) {
      return Promise.reject(new MediaPoolBusyError(`the media preprocessing queue is full (${this.maxQueued} waiting); try again later`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  private freeSlot(): Slot | undefined {
    const idle = this.slots.find((s) => !s.job);
    if (idle) return idle;
    if (this.slots.length < this.threads) return this.spawn();
    return undefined;
  }

  private dispatch(): void {
    while (this.queue.length) {
      const slot = this.freeSlot();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      // A busy thread keeps the process alive; an idle one does not.
      slot.worker.ref();
      slot.worker.postMessage({ ...job.task, id: this.nextId++ } as MediaTask);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.script);
    const slot: Slot = { worker };
    worker.unref();
    worker.on('message', (m: MediaReply) => {
      const job = slot.job;
      slot.job = undefined;
      worker.unref();
      if (job) {
        if (m.ok) job.resolve(m.value);
        else job.reject(fromWire(m.error));
      }
      this.dispatch();
    });
    // A thread that dies (out of memory, a native crash) fails its task and is replaced on demand.
    const gone = (e: Error) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      slot.job?.reject(e);
      slot.job = undefined;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (e) => gone(new Error(`a media thread failed: ${e.message}`)));
    worker.on('exit', (code) => gone(new Error(`a media thread exited (code ${code})`)));
    this.slots.push(slot);
    return slot;
  }
}
