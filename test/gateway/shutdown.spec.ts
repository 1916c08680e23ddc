import { describe, expect, it } from 'vitest';
import { startTestGateway } from './support/gateway';
import { startFakeWorker } from './support/fake-worker';
import { readSse } from './support/sse';

describe('graceful shutdown', () => {
  it('stops taking requests but lets a running stream finish', async () => {
    const gw = await startTestGateway('drain');
    await gw.pipeline(true);
    const worker = startFakeWorker(gw.prefix, { words: Array.from({ length: 40 }, (_, i) => ` w${i}`), delayMs: 20 });
    try {
      const res = await gw.post('/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: 'count' }], stream: true });
      const reading = readSse(res);
      await new Promise((r) => setTimeout(r, 100));
      const closing = gw.close(10_000);
      // Draining: the service refuses new generation at once.
      expect(gw.services.draining).toBe(true);
      await expect(gw.services.checkAdmission()).rejects.toMatchObject({ status: 503, code: 'shutting_down' });
      const events = await reading;
      expect(events.at(-1)).toBe('[DONE]');
      expect((events.at(-2) as { choices: Array<{ finish_reason: string }> }).choices[0].finish_reason).toBe('stop');
      await closing;
      await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
    } finally {
      await worker.stop();
      await gw.stop();
    }
  });

  it('after the grace period, running streams end with a shutting_down error and their jobs are cancelled', async () => {
    const gw = await startTestGateway('drain-cut');
    await gw.pipeline(true);
    const worker = startFakeWorker(gw.prefix, { words: Array.from({ length: 500 }, (_, i) => ` w${i}`), delayMs: 20 });
    try {
      const res = await gw.post('/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: 'count' }], stream: true });
      const id = res.headers.get('x-request-id')!;
      const reading = readSse(res);
      await new Promise((r) => setTimeout(r, 100));
      await gw.close(300);
      const events = await reading;
      expect(events.at(-1)).toBe('[DONE]');
      expect(events.at(-2)).toMatchObject({ error: { code: 'shutting_down' } });
      await expect.poll(async () => (await gw.queue.status(id)).result?.finishReason, { timeout: 5000 }).toBe('cancelled');
    } finally {
      await worker.stop();
      await gw.stop();
    }
  });
});
