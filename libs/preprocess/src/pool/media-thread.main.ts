// A media thread: decodes and tiles one image (or video) at a time, off the worker's event loop, and hands the
// tensor back by transfer (no copy).
import { parentPort } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { loadImage } from '../load-image';
import { loadVideo } from '../load-video';
import { MediaReply, MediaTask, toWire } from './protocol';

// Every image is decoded once: libvips' operation cache would only keep decoded pixels alive. One libvips thread per
// decode: a thread of this pool is one decode, so the pool size is what bounds the cores that decoding takes.
sharp.cache(false);
sharp.concurrency(1);

// What one large image leaves behind (sharp's decoded buffer, a wasm arena above the retained size: ~400 MB at
// 7000×7000) is freed only when this thread's heap is collected, which V8 may put off for several images: measured
// peak RSS for 8 such images was 1.6 GB without this collection after each task, 1.1 GB with it. The heap of a
// media thread is small, so a full collection costs a few milliseconds, on this thread only.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

const port = parentPort!;
port.on('message', (task: MediaTask) => {
  void run(task).then((reply) => {
    const value = reply.ok ? reply.value.pixelValues : undefined;
    port.postMessage(reply, value ? [value.buffer as ArrayBuffer] : []);
    collect();
  });
});

async function run(task: MediaTask): Promise<MediaReply> {
  try {
    const value = task.kind === 'image' ? await loadImage(task.bytes, task.opts) : await loadVideo(task.input, task.opts);
    return { id: task.id, ok: true, value };
  } catch (e) {
    return { id: task.id, ok: false, error: toWire(e) };
  }
}
