import { Rng } from '@ivl/tensor';
import { describe, expect, it } from 'vitest';
import { StopStringMatcher, truncateAtStop } from './stop-strings';

function streamThrough(text: string, stops: string[], chunkSizes: number[]): { out: string; shown: string[]; stopped: boolean } {
  const m = new StopStringMatcher(stops);
  const shown: string[] = [];
  let at = 0;
  let stopped = false;
  for (const size of chunkSizes) {
    if (at >= text.length) break;
    const step = m.push(text.slice(at, at + size));
    at += size;
    shown.push(step.text);
    stopped ||= step.stopped;
  }
  if (at < text.length) {
    const step = m.push(text.slice(at));
    shown.push(step.text);
    stopped ||= step.stopped;
  }
  const last = m.flush();
  shown.push(last.text);
  return { out: shown.join(''), shown, stopped: stopped || last.stopped };
}

describe('truncateAtStop', () => {
  it('cuts before the earliest occurrence of any stop string', () => {
    expect(truncateAtStop('abcd', ['abcd', 'bc'])).toEqual({ text: '', stopped: true });
    expect(truncateAtStop('x STOP y END', ['END', 'STOP'])).toEqual({ text: 'x ', stopped: true });
    expect(truncateAtStop('nothing here', ['END'])).toEqual({ text: 'nothing here', stopped: false });
  });
});

describe('StopStringMatcher', () => {
  it('holds back a possible stop-string start and releases it when it turns out not to be one', () => {
    const m = new StopStringMatcher(['</answer>']);
    expect(m.push('The result </an')).toEqual({ text: 'The result ', stopped: false });
    expect(m.push('d more')).toEqual({ text: '</and more', stopped: false });
    expect(m.push(' text</answer> ignored')).toEqual({ text: ' text', stopped: true });
    expect(m.push('later')).toEqual({ text: '', stopped: true });
    expect(m.stopped).toBe(true);
  });

  it('waits for an earlier-starting stop string before cutting at a later one', () => {
    const m = new StopStringMatcher(['abcd', 'bc']);
    expect(m.push('xabc')).toEqual({ text: 'x', stopped: false });
    expect(m.push('d')).toEqual({ text: '', stopped: true });
    const n = new StopStringMatcher(['abcd', 'bc']);
    n.push('xabc');
    expect(n.push('e')).toEqual({ text: 'a', stopped: true });
  });

  it('releases held text at the end when no stop string completed', () => {
    const m = new StopStringMatcher(['<|im_end|>']);
    expect(m.push('fin <|im')).toEqual({ text: 'fin ', stopped: false });
    expect(m.flush()).toEqual({ text: '<|im', stopped: false });
  });

  it('rejects empty stop strings', () => {
    expect(() => new StopStringMatcher(['ok', ''])).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('equals the non-streamed result for every chunking, and never shows text that is later cut', () => {
    const rng = new Rng('stop-strings');
    const alphabet = ['a', 'b', 'c', 'd', '\n', ' ', '中', '文', 'U', ':'];
    const stopSets = [['abcd', 'bc'], ['\n\n', '\nU:'], ['aa', 'aab', 'b a'], ['中文', '文a'], ['dddd'], []];
    for (let trial = 0; trial < 3000; trial++) {
      const stops = stopSets[trial % stopSets.length];
      let text = '';
      const len = rng.int(30);
      for (let i = 0; i < len; i++) text += alphabet[rng.int(alphabet.length)];
      const chunks = Array.from({ length: 40 }, () => 1 + rng.int(4));
      const expected = truncateAtStop(text, stops);
      const { out, shown, stopped } = streamThrough(text, stops, chunks);
      expect(out, JSON.stringify({ text, stops, chunks })).toBe(expected.text);
      expect(stopped).toBe(expected.stopped);
      let released = '';
      for (const piece of shown) {
        released += piece;
        expect(expected.text.startsWith(released)).toBe(true);
      }
    }
  });
});
