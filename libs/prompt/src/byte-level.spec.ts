import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, CHAR_TO_BYTE, byteLevelTokenBytes } from './byte-level';

describe('byte-level alphabet', () => {
  it('is a bijection between the 256 bytes and printable characters', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(CHAR_TO_BYTE.size).toBe(256);
    for (const c of BYTE_TO_CHAR) expect(/\s/.test(c)).toBe(false);
  });

  it('maps space and newline to the familiar Ġ and Ċ, and keeps printable ASCII', () => {
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ');
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ');
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    expect(BYTE_TO_CHAR[0xad]).toBe('\u0143');
  });

  it('turns a token back into its bytes', () => {
    expect([...byteLevelTokenBytes('ĠWorld')!]).toEqual([0x20, ...Buffer.from('World')]);
    expect(byteLevelTokenBytes('<|im_end|>\u4e2d')).toBeUndefined();
  });
});
