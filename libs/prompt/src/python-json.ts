/** A JSON value as Python's json module would hold it; numbers must be integers (no float repr differences). */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface PythonJsonOptions {
  readonly indent?: number;
  readonly sortKeys?: boolean;
  /** Python's default is true; transformers passes false for tokenizer files. */
  readonly ensureAscii?: boolean;
}

/**
 * Serialises like Python's `json.dumps(value, indent=…, sort_keys=…, ensure_ascii=…)`, so files a checkpoint ships
 * come out byte-identical to the ones transformers writes (their sizes are published and checked).
 */
export function pythonJsonDumps(value: JsonValue, options: PythonJsonOptions = {}): string {
  return dump(value, options, 0);
}

function dump(value: JsonValue, o: PythonJsonOptions, depth: number): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new Error(`pythonJsonDumps: only integers are supported (Python's float repr differs), got ${value}`);
    }
    return String(value);
  }
  if (typeof value === 'string') return quote(value, o.ensureAscii ?? true);
  const items: string[] = [];
  let open: string;
  let close: string;
  if (Array.isArray(value)) {
    open = '[';
    close = ']';
    for (const v of value as readonly JsonValue[]) items.push(dump(v, o, depth + 1));
  } else {
    open = '{';
    close = '}';
    const obj = value as { readonly [key: string]: JsonValue };
    const keys = Object.keys(obj);
    // Python sorts str keys by code point; UTF-16 order differs only above the BMP.
    if (o.sortKeys) keys.sort(compareCodePoints);
    for (const k of keys) items.push(`${quote(k, o.ensureAscii ?? true)}: ${dump(obj[k], o, depth + 1)}`);
  }
  if (items.length === 0) return open + close;
  if (o.indent === undefined) return open + items.join(', ') + close;
  const inner = '\n' + ' '.repeat(o.indent * (depth + 1));
  return open + inner + items.join(',' + inner) + '\n' + ' '.repeat(o.indent * depth) + close;
}

function compareCodePoints(a: string, b: string): number {
  const ca = Array.from(a);
  const cb = Array.from(b);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = ca[i].codePointAt(0)! - cb[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function quote(s: string, ensureAscii: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const code = s.charCodeAt(i);
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    // Python's ASCII mode escapes everything outside ' '..'~' (DEL included), one \u per UTF-16 unit.
    else if (code < 0x20 || (ensureAscii && code > 0x7e)) out += '\\u' + code.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}
