import { describe, expect, it } from 'vitest';
import { postprocessAnswer } from './postprocess';

describe('postprocessAnswer', () => {
  it("keeps what precedes the first <|im_end|>, then strips like Python's str.strip()", () => {
    expect(postprocessAnswer('  A red panda.\n<|im_end|>\nmore<|im_end|>')).toBe('A red panda.');
    expect(postprocessAnswer('\u3000中文回答\u0085\x1c')).toBe('中文回答');
    expect(postprocessAnswer('\ufeffkept BOM\n')).toBe('\ufeffkept BOM');
    expect(postprocessAnswer('<|im_end|>after')).toBe('');
    expect(postprocessAnswer('no marker  ')).toBe('no marker');
  });
});
