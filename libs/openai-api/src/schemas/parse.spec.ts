import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors';
import { ChatCompletionRequestSchema } from './chat-request';
import { parseBody } from './parse';

const user = (content: unknown) => ({ model: 'm', messages: [{ role: 'user', content }] });

function refusal(body: unknown): ApiError {
  try {
    parseBody(ChatCompletionRequestSchema, body);
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('accepted');
}

describe('request validation errors', () => {
  it('a field of the wrong type is invalid_value naming what was sent, not "is required"', () => {
    for (const [body, param, got] of [
      [user(42), 'messages[0].content', /got number 42/],
      [{ ...user('hi'), max_tokens: 2.5 }, 'max_tokens', /got the number 2.5/],
      [{ ...user('hi'), temperature: 'NaN' }, 'temperature', /got string "NaN"/],
    ] as const) {
      const e = refusal(body);
      expect(e.status).toBe(400);
      expect(e.code).toBe('invalid_value');
      expect(e.param).toBe(param);
      expect(e.message).toMatch(got);
      expect(e.message).not.toMatch(/required/);
    }
  });

  it('a field that is absent is missing_required_parameter', () => {
    const e = refusal({ model: 'm' });
    expect(e.code).toBe('missing_required_parameter');
    expect(e.message).toBe("'messages' is required");
  });
});
