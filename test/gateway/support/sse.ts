/** Reads a server-sent event stream into its `data:` payloads (JSON parsed, `[DONE]` kept as a string). */
export async function readSse(res: Response, onEvent?: (e: unknown) => boolean | void): Promise<unknown[]> {
  const events: unknown[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      for (const line of block.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        const e = data === '[DONE]' ? data : JSON.parse(data);
        events.push(e);
        if (onEvent?.(e) === false) {
          await reader.cancel();
          return events;
        }
      }
    }
  }
  return events;
}
