import type { ServerResponse } from 'node:http';

/** Server-sent events as OpenAI streams them: `data: <json>\n\n`, ending with `data: [DONE]`. */
export function sseHeaders(res: ServerResponse): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  // Proxies such as nginx buffer responses by default, which would hold tokens back.
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
}

export const sseData = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`;

export const SSE_DONE = 'data: [DONE]\n\n';

/** Writes and waits for the socket to drain when the client reads slower than we produce (backpressure). */
export async function sseWrite(res: ServerResponse, text: string): Promise<void> {
  if (res.destroyed || res.writableEnded) return;
  if (!res.write(text)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}
