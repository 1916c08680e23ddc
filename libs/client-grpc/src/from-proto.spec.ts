import { describe, expect, it } from 'vitest';
import { chatInputFromProto } from './from-proto';

describe('GenerateRequest → ChatInput', () => {
  it('maps messages, parts and sampling like the REST body', () => {
    const input = chatInputFromProto({
      model: 'm',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', parts: [{ text: 'What is it?' }, { image: { data: Buffer.from([1, 2, 3]), max_dynamic_patch: 4 } }, { image: { url: 'https://example.com/a.png' } }] },
      ],
      temperature: 0,
      top_k: 5,
      stop: ['END'],
      max_tokens: 9,
    });
    expect(input.messages[0]).toMatchObject({ role: 'system', parts: [{ type: 'text', text: 'Be brief.' }] });
    expect(input.messages[1].parts[1]).toMatchObject({ type: 'image', maxNum: 4, param: 'messages[1].parts[1].image' });
    expect(Array.from((input.messages[1].parts[1] as { source: { data: Uint8Array } }).source.data)).toEqual([1, 2, 3]);
    expect(input.messages[1].parts[2]).toMatchObject({ source: { url: 'https://example.com/a.png' } });
    expect(input).toMatchObject({ temperature: 0, topK: 5, stop: ['END'], maxTokens: 9, stream: true });
  });

  it('refuses what the JSON schema would refuse', () => {
    expect(() => chatInputFromProto({ model: 'm', messages: [{ role: 'tool', content: 'x' }] })).toThrow(/unsupported message role/);
    expect(() => chatInputFromProto({ model: 'm', messages: [{ role: 'user', content: 'x' }], top_p: 0 })).toThrow(/top_p/);
    expect(() => chatInputFromProto({ model: 'm', messages: [] })).toThrow(/messages/);
    expect(() => chatInputFromProto({ model: 'm', messages: [{ role: 'user', parts: [{ image: {} }] }] })).toThrow(/set data or url/);
  });
});
