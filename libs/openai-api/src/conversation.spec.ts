import { describe, expect, it } from 'vitest';
import type { InputMessage, InputPart } from './chat-input';
import { toCardConversation } from './conversation';
import { ApiError } from './errors';

const img = (url: string): InputPart => ({ type: 'image', source: { url }, param: url });
const text = (t: string): InputPart => ({ type: 'text', text: t });
const msg = (role: InputMessage['role'], ...parts: InputPart[]): InputMessage => ({ role, parts, param: 'm' });

describe('OpenAI messages → chat()', () => {
  it('one image follows the card: <image>\\n before the text, whatever the part order', () => {
    for (const parts of [[text('What is it?'), img('a')], [img('a'), text('What is it?')]]) {
      const c = toCardConversation([msg('user', ...parts)]);
      expect(c.question).toBe('<image>\nWhat is it?');
      expect(c.images.map((i) => (i.source as { url: string }).url)).toEqual(['a']);
    }
  });

  it('several images: Image-1 … Image-N lines as the card', () => {
    const c = toCardConversation([msg('user', text('Compare.'), img('a'), img('b'))]);
    expect(c.question).toBe('Image-1: <image>\nImage-2: <image>\nCompare.');
  });

  it('images between texts keep their positions', () => {
    const c = toCardConversation([msg('user', text('Left:'), img('a'), text('Right:'), img('b'), text('Same?'))]);
    expect(c.question).toBe('Left:\n<image>\nRight:\n<image>\nSame?');
  });

  it('placeholders written by the user win, and must match the images', () => {
    const c = toCardConversation([msg('user', text('A <image> and B <image>?'), img('a'), img('b'))]);
    expect(c.question).toBe('A <image> and B <image>?');
    expect(() => toCardConversation([msg('user', text('A <image>'), img('a'), img('b'))])).toThrow(/1 <image> placeholder\(s\) but the message carries 2/);
  });

  it('multi-turn: earlier turns keep their <image> and their images come first', () => {
    const c = toCardConversation([
      msg('system', text('Be brief.')),
      msg('user', img('first'), text('Describe.')),
      msg('assistant', text('A cat.')),
      msg('user', img('second'), text('And this?')),
    ]);
    expect(c.system).toBe('Be brief.');
    expect(c.history).toEqual([{ question: '<image>\nDescribe.', answer: 'A cat.' }]);
    expect(c.question).toBe('<image>\nAnd this?');
    expect(c.images.map((i) => (i.source as { url: string }).url)).toEqual(['first', 'second']);
  });

  it('consecutive messages of one role are joined; structure errors name the message', () => {
    const c = toCardConversation([msg('user', text('a')), msg('user', text('b'))]);
    expect(c.question).toBe('a\nb');
    const bad = (ms: InputMessage[]) => {
      try {
        toCardConversation(ms);
      } catch (e) {
        return (e as ApiError).message;
      }
      return 'no error';
    };
    expect(bad([msg('assistant', text('x'))])).toMatch(/first message .* must be from the user/);
    expect(bad([msg('user', text('x')), msg('assistant', text('y'))])).toMatch(/last message must be from the user/);
    expect(bad([msg('user', text('x')), msg('system', text('y'))])).toMatch(/must come before/);
  });

  it('a video only in the last message and not with images', () => {
    const v: InputPart = { type: 'video', source: { url: 'v' }, numSegments: 4, param: 'v' };
    const c = toCardConversation([msg('user', text('What happens?'), v)]);
    expect(c.question).toBe('What happens?');
    expect(c.video?.numSegments).toBe(4);
    expect(() => toCardConversation([msg('user', text('x'), v, img('a'))])).toThrow(/video cannot also contain images/);
  });
});
