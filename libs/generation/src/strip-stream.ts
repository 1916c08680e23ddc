import { isPythonWhitespace } from '@ivl/prompt';

/**
 * Streams text so that the concatenation equals Python's `text.strip()` of the whole: leading whitespace is
 * dropped, and a whitespace run is held back until something visible follows it.
 */
export class StripStream {
  private started = false;
  private held = '';

  push(delta: string): string {
    let out = '';
    for (const ch of delta) {
      if (isPythonWhitespace(ch)) {
        if (this.started) this.held += ch;
        continue;
      }
      this.started = true;
      out += this.held + ch;
      this.held = '';
    }
    return out;
  }
}
