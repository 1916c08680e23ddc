/** Server-sent events from a fetch body: complete `data:` payloads, whatever the chunking of the bytes. */
export class SseParser {
  private buf = '';

  push(text: string): string[] {
    this.buf += text.replace(/\r\n/g, '\n');
    const out: string[] = [];
    let end: number;
    while ((end = this.buf.indexOf('\n\n')) >= 0) {
      const event = this.buf.slice(0, end);
      this.buf = this.buf.slice(end + 2);
      const data = event
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) out.push(data);
    }
    return out;
  }
}
