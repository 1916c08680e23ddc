import { describe, expect, it } from 'vitest';
import { formatGrounding, groundingPrompt, normalizeBox, parseGrounding } from './grounding';

describe('groundingPrompt', () => {
  it('is the RefCOCO evaluation prompt', () => {
    expect(groundingPrompt('the man in red')).toBe(
      'Please provide the bounding box coordinate of the region this sentence describes: <ref>the man in red</ref>',
    );
  });
});

describe('parseGrounding', () => {
  it('scales 0–1000 coordinates to pixels (÷1000, ×W or ×H)', () => {
    expect(parseGrounding('<ref>cat</ref><box>[[100, 200, 300, 400]]</box>', 640, 480)).toEqual([
      { label: 'cat', boxes: [[64, 96, 192, 192]] },
    ]);
  });

  it('reads several boxes per object and several objects per answer', () => {
    const text =
      'There are <ref>two dogs</ref><box>[[0, 0, 500, 500], [500, 500, 1000, 1000]]</box> and ' +
      '<ref>a ball</ref><box>[[250, 250, 260, 270]]</box>.';
    expect(parseGrounding(text, 1000, 2000)).toEqual([
      {
        label: 'two dogs',
        boxes: [
          [0, 0, 500, 1000],
          [500, 1000, 1000, 2000],
        ],
      },
      { label: 'a ball', boxes: [[250, 500, 260, 540]] },
    ]);
  });

  it('tolerates tags stripped by skip_special_tokens, odd spacing and single brackets', () => {
    expect(parseGrounding('cat[[100,200 , 300,400]]', 1000, 1000)).toEqual([{ label: 'cat', boxes: [[100, 200, 300, 400]] }]);
    expect(parseGrounding('<box>[12.5, 0, 1000, 1000]</box>', 800, 600)).toEqual([{ label: '', boxes: [[10, 0, 800, 600]] }]);
  });

  it('skips boxes whose fields are not numbers and returns nothing for plain text', () => {
    expect(parseGrounding('<ref>x</ref><box>[[a, b, c, d]]</box>', 100, 100)).toEqual([]);
    expect(parseGrounding('I cannot see that object.', 100, 100)).toEqual([]);
  });

  it('rejects a non-positive image size', () => {
    expect(() => parseGrounding('[[1, 2, 3, 4]]', 0, 10)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('normalizeBox and formatGrounding', () => {
  it('rounds halves to even like Python, where Math.round would not', () => {
    // 1/8 · 1000 = 125 exactly; 0.6875 · 1000 = 687.5 → 688 (even); 0.3125 · 1000 = 312.5 → 312.
    expect(normalizeBox([100, 550, 250, 200], 800, 640)).toEqual([125, 859, 312, 312]);
    expect(Math.round((250 / 800) * 1000)).toBe(313);
  });

  it('formats boxes the way the model writes them, and parses back', () => {
    const text = formatGrounding('a cup', [
      [10, 20, 30, 40],
      [50, 60, 70, 80],
    ]);
    expect(text).toBe('<ref>a cup</ref><box>[[10, 20, 30, 40], [50, 60, 70, 80]]</box>');
    expect(parseGrounding(text, 1000, 1000)).toEqual([
      {
        label: 'a cup',
        boxes: [
          [10, 20, 30, 40],
          [50, 60, 70, 80],
        ],
      },
    ]);
  });
});
