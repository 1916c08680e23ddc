import { describe, expect, it } from 'vitest';
import { parseBatchInput } from './batch-input';

const line = (id: string, body: object = { model: 'm', messages: [{ role: 'user', content: 'hi' }] }) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body });

describe('parseBatchInput', () => {
  it('reads JSONL, skipping blank lines and a trailing newline', () => {
    const lines = parseBatchInput(`${line('a')}\n\n${line('b')}\n`, 10);
    expect(lines.map((l) => l.custom_id)).toEqual(['a', 'b']);
  });

  it('names the line of the first problem of structure; an invalid body is left to that line alone', () => {
    expect(() => parseBatchInput(`${line('a')}\n${line('a')}`, 10)).toThrow(/^line 2: custom_id "a" is used more than once/);
    expect(parseBatchInput(`${line('a')}\n${line('b', { model: 'm', messages: [] })}`, 10).map((l) => l.custom_id)).toEqual(['a', 'b']);
    expect(() => parseBatchInput(`${line('a')}\n${line('b')}\n${line('c')}`, 2)).toThrow(/more than 2 requests/);
  });
});
