import { describe, expect, it } from 'vitest';
import { pythonJsonDumps } from './python-json';

// Expected strings are what CPython 3 prints for the same value.
const value = {
  b: [1, { z: null, a: true }],
  a: 'é"\\\n\t\u0001\u007f😀',
  é: [],
  c: {},
  Z: false,
};

describe('pythonJsonDumps', () => {
  it('matches json.dumps(indent=2, sort_keys=True, ensure_ascii=False)', () => {
    expect(pythonJsonDumps(value, { indent: 2, sortKeys: true, ensureAscii: false })).toBe(
      '{\n  "Z": false,\n  "a": "é\\"\\\\\\n\\t\\u0001\u007f😀",\n  "b": [\n    1,\n    {\n      "a": true,\n      "z": null\n    }\n  ],\n  "c": {},\n  "é": []\n}',
    );
  });

  it('matches json.dumps(indent=2, sort_keys=True) with its default ASCII escaping', () => {
    expect(pythonJsonDumps(value, { indent: 2, sortKeys: true })).toBe(
      '{\n  "Z": false,\n  "a": "\\u00e9\\"\\\\\\n\\t\\u0001\\u007f\\ud83d\\ude00",\n  "b": [\n    1,\n    {\n      "a": true,\n      "z": null\n    }\n  ],\n  "c": {},\n  "\\u00e9": []\n}',
    );
  });

  it('matches the compact default form, keeping insertion order', () => {
    expect(pythonJsonDumps(value)).toBe(
      '{"b": [1, {"z": null, "a": true}], "a": "\\u00e9\\"\\\\\\n\\t\\u0001\\u007f\\ud83d\\ude00", "\\u00e9": [], "c": {}, "Z": false}',
    );
  });

  it('sorts keys by code point, not by UTF-16 unit', () => {
    expect(pythonJsonDumps({ '😀': 1, '\uffff': 2 }, { sortKeys: true })).toBe('{"\\uffff": 2, "\\ud83d\\ude00": 1}');
  });

  it('refuses non-integers, whose Python repr would differ', () => {
    expect(() => pythonJsonDumps({ x: 0.1 })).toThrow(/only integers/);
  });
});
