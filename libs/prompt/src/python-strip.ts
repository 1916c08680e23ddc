/**
 * Characters Python's `str.isspace()` accepts, which is what `str.strip()` removes. JavaScript's trim() differs:
 * it keeps U+001C..U+001F and U+0085 (Python strips them) and strips U+FEFF (Python keeps it).
 */
const PYTHON_WHITESPACE = new Set(
  [
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
    0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
  ].map((c) => String.fromCharCode(c)),
);

export function isPythonWhitespace(ch: string): boolean {
  return PYTHON_WHITESPACE.has(ch);
}

/** Python's `s.strip()` with no argument. */
export function pythonStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && PYTHON_WHITESPACE.has(s[start])) start++;
  while (end > start && PYTHON_WHITESPACE.has(s[end - 1])) end--;
  return s.slice(start, end);
}
