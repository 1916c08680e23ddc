import { describe, expect, it } from 'vitest';
import { isPythonWhitespace, pythonStrip } from './python-strip';

describe('pythonStrip', () => {
  it('strips what str.strip() strips, including U+001C..U+001F and U+0085 that trim() keeps', () => {
    expect(pythonStrip('\x1c\x1d\x1e\x1f\x85 hi\u3000\u2028\xa0\t\n')).toBe('hi');
    expect('\x1c\x85hi'.trim()).toBe('\x1c\x85hi');
  });

  it('keeps U+FEFF, which trim() would remove', () => {
    expect(pythonStrip(' \ufeffhi\ufeff ')).toBe('\ufeffhi\ufeff');
  });

  it('accepts exactly the 29 characters of str.isspace()', () => {
    let count = 0;
    for (let c = 0; c <= 0xffff; c++) if (isPythonWhitespace(String.fromCharCode(c))) count++;
    expect(count).toBe(29);
    expect(pythonStrip('   ')).toBe('');
    expect(pythonStrip('a b')).toBe('a b');
  });
});
