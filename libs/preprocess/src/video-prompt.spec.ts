import { describe, expect, it } from 'vitest';
import { videoPromptPrefix } from './video-prompt';

describe('videoPromptPrefix', () => {
  it('writes the card form, one numbered line per frame, starting at 1, no hyphen', () => {
    expect(videoPromptPrefix(3)).toBe('Frame1: <image>\nFrame2: <image>\nFrame3: <image>\n');
    expect(videoPromptPrefix(0)).toBe('');
    expect(videoPromptPrefix(8).split('\n')).toHaveLength(9);
  });
});
