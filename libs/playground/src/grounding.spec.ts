import { describe, expect, it } from 'vitest';
import { parseGrounding } from './grounding';
import { SseParser } from './sse';

describe('parseGrounding', () => {
  it('reads labels and 0–1000 boxes, keeps the label in the text and drops the box list', () => {
    const r = parseGrounding('There is <ref>a cat</ref><box>[[10, 20, 500, 600], [600,0,1000,999]]</box> on the mat.');
    expect(r.text).toBe('There is a cat on the mat.');
    expect(r.refs).toEqual([{ label: 'a cat', boxes: [[10, 20, 500, 600], [600, 0, 1000, 999]] }]);
  });

  it('clamps coordinates, skips empty boxes and hides an unpaired tag', () => {
    const r = parseGrounding('<ref>x</ref><box>[[-5, 0, 1200, 10], [5, 5, 5, 9]]</box> and <ref>cut');
    expect(r.refs).toEqual([{ label: 'x', boxes: [[0, 0, 1000, 10]] }]);
    expect(r.text).toBe('x and cut');
  });
});

describe('SseParser', () => {
  it('joins events split across reads and ignores comments', () => {
    const p = new SseParser();
    expect(p.push('data: {"a"')).toEqual([]);
    expect(p.push(':1}\n\n: keep-alive\n\ndata: [DONE]\n')).toEqual(['{"a":1}']);
    expect(p.push('\n')).toEqual(['[DONE]']);
  });
});
