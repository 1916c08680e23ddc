/**
 * The rest of the OpenAI surface against a real local cluster (`ivl up` with the tiny generated model on two
 * stages, the gateway process), through the official openai client: structured outputs, tools, logprobs, n,
 * the sampling options, /v1/completions, /tokenize and /detokenize. The model has random weights, so the tests
 * assert what the server guarantees (grammar, shapes, seeds, probabilities), never what the model "means".
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster } from '@ivl/local-cluster';
import { startServingCluster } from '../support/cluster';

const dist = join(__dirname, '..', '..', 'dist');
const missing = ['worker.js', 'gateway.js'].filter((f) => !existsSync(join(dist, f)));
const reason = missing.length ? `needs dist/${missing.join(' and dist/')}; run npm run build` : '';

const schema = {
  type: 'object',
  properties: {
    colour: { enum: ['red', 'green', 'blue'] },
    ok: { type: 'boolean' },
    size: { enum: [1, 2, 3] },
  },
  required: ['colour', 'ok', 'size'],
  additionalProperties: false,
};

const weather: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { enum: ['Paris', 'Tokyo'] }, unit: { enum: ['c', 'f'] } }, required: ['city', 'unit'], additionalProperties: false },
  },
};
const time: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } }, required: ['zone'], additionalProperties: false } },
};

describe.skipIf(!!reason)(`the OpenAI surface against a local cluster${reason ? ` — skipped: ${reason}` : ''}`, () => {
  let cluster: LocalCluster;
  let openai: OpenAI;
  let base: string;
  const ask = [{ role: 'user' as const, content: 'Describe the weather as JSON.' }];

  beforeAll(async () => {
    cluster = await startServingCluster('surface');
    base = `http://127.0.0.1:${cluster.httpPort}`;
    openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'local', maxRetries: 0 });
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('json_schema (strict): the answer parses and is valid against the schema, streamed or not, for every choice', async () => {
    const c = await openai.chat.completions.create({
      model: 'tiny',
      messages: ask,
      max_tokens: 60,
      temperature: 1,
      seed: 3,
      n: 3,
      response_format: { type: 'json_schema', json_schema: { name: 'weather', schema, strict: true } },
    });
    expect(c.choices).toHaveLength(3);
    for (const choice of c.choices) {
      expect(choice.finish_reason).toBe('stop');
      const v = JSON.parse(choice.message.content!) as Record<string, unknown>;
      expect(Object.keys(v).sort()).toEqual(['colour', 'ok', 'size']);
      expect(['red', 'green', 'blue']).toContain(v.colour);
      expect(typeof v.ok).toBe('boolean');
      expect([1, 2, 3]).toContain(v.size);
    }
    const stream = await openai.chat.completions.create({ model: 'tiny', messages: ask, max_tokens: 60, temperature: 0, response_format: { type: 'json_schema', json_schema: { name: 'weather', schema, strict: true } }, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(Object.keys(JSON.parse(text) as object).sort()).toEqual(['colour', 'ok', 'size']);
  }, 180_000);

  it('json_object: an object, or finish_reason length when max_tokens ends it first (never a hang)', async () => {
    const c = await openai.chat.completions.create({ model: 'tiny', messages: ask, max_tokens: 3, temperature: 0, response_format: { type: 'json_object' } });
    expect(c.choices[0].finish_reason).toBe('length');
    expect(c.choices[0].message.content!.startsWith('{')).toBe(true);
    expect(c.usage!.completion_tokens).toBe(3);
  }, 60_000);

  it('tool_choice required: parsed tool calls naming a real function with schema-valid arguments', async () => {
    const c = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Weather in Paris?' }], max_tokens: 120, temperature: 0, tools: [weather, time], tool_choice: 'required' });
    const calls = c.choices[0].message.tool_calls ?? [];
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      expect(call.type).toBe('function');
      const fn = (call as OpenAI.ChatCompletionMessageFunctionToolCall).function;
      expect(['get_weather', 'get_time']).toContain(fn.name);
      const args = JSON.parse(fn.arguments) as Record<string, string>;
      if (fn.name === 'get_weather') expect(['Paris', 'Tokyo']).toContain(args.city);
      else expect(['UTC', 'CET']).toContain(args.zone);
    }
    if (c.choices[0].finish_reason !== 'length') expect(c.choices[0].finish_reason).toBe('tool_calls');
  }, 120_000);

  it('a named tool_choice: exactly one call to it, the same streamed as deltas; a tool result continues the chat', async () => {
    const req = { model: 'tiny', messages: [{ role: 'user' as const, content: 'What time is it?' }], max_tokens: 60, temperature: 0, tools: [weather, time], tool_choice: { type: 'function' as const, function: { name: 'get_time' } } };
    const c = await openai.chat.completions.create(req);
    expect(c.choices[0].finish_reason).toBe('tool_calls');
    const [call] = c.choices[0].message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
    expect(c.choices[0].message.tool_calls).toHaveLength(1);
    expect(call.function.name).toBe('get_time');
    expect(['UTC', 'CET']).toContain((JSON.parse(call.function.arguments) as { zone: string }).zone);

    const stream = await openai.chat.completions.create({ ...req, stream: true });
    const deltas: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      deltas.push(...(chunk.choices[0]?.delta?.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(deltas.map((d) => [d.index, d.function?.name, d.function?.arguments])).toEqual([[0, 'get_time', call.function.arguments]]);

    const next = await openai.chat.completions.create({
      model: 'tiny',
      max_tokens: 5,
      temperature: 0,
      tools: [weather, time],
      tool_choice: 'none',
      messages: [...req.messages, c.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '12:00' }],
    });
    expect(next.choices[0].message.tool_calls ?? []).toEqual([]);
    // The tool turns went into the prompt in Qwen2.5's form.
    const tok = await (await fetch(`${base}/tokenize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [...req.messages, c.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '12:00' }], tools: [weather, time] }),
    }).then((r) => r.json())) as { count: number; tokens: number[] };
    expect(tok.count).toBe(next.usage!.prompt_tokens);
    const text = (await (await fetch(`${base}/detokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tokens: tok.tokens }) })).json()) as { prompt: string };
    expect(text.prompt).toContain('<tool_response>\n12:00\n</tool_response>');
    expect(text.prompt).toContain('<tools>\n{"type": "function", "function": {"name": "get_weather"');
  }, 180_000);

  it('logprobs under greedy decoding: the top entry is the sampled token and the alternatives sum to at most 1', async () => {
    const c = await openai.chat.completions.create({ model: 'tiny', messages: ask, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 5 });
    const content = c.choices[0].logprobs!.content!;
    expect(content.length).toBeGreaterThan(0);
    expect(content.map((e) => e.token).join('')).toBe(c.choices[0].message.content);
    for (const e of content) {
      expect(e.top_logprobs).toHaveLength(5);
      expect(e.top_logprobs[0].token).toBe(e.token);
      expect(e.top_logprobs[0].logprob).toBe(e.logprob);
      expect(e.top_logprobs.reduce((a, t) => a + Math.exp(t.logprob), 0)).toBeLessThanOrEqual(1 + 1e-9);
      for (let i = 1; i < 5; i++) expect(e.top_logprobs[i].logprob).toBeLessThanOrEqual(e.top_logprobs[i - 1].logprob);
      expect(Buffer.from(e.bytes!).toString('utf8')).toBe(e.token);
    }
  }, 60_000);

  it('n = 3 with a seed: three distinct answers, the same three again for the same seed', async () => {
    const req = { model: 'tiny', messages: ask, max_tokens: 10, temperature: 1, seed: 1234, n: 3 };
    const a = await openai.chat.completions.create(req);
    const b = await openai.chat.completions.create(req);
    const texts = a.choices.map((c) => c.message.content);
    expect(a.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(texts).size).toBe(3);
    expect(b.choices.map((c) => c.message.content)).toEqual(texts);
    // Prompt counted once, completions summed.
    expect(a.usage!.prompt_tokens).toBe((await openai.chat.completions.create({ ...req, n: 1 })).usage!.prompt_tokens);
  }, 120_000);

  it('n = 2 streamed: chunks carry their choice index, each choice equals its non-streamed twin, usage counts both', async () => {
    const req = { model: 'tiny', messages: ask, max_tokens: 8, temperature: 1, seed: 77, n: 2 };
    const whole = await openai.chat.completions.create(req);
    const stream = await openai.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
    const texts = ['', ''];
    const finishes: Array<string | null> = [null, null];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        texts[c.index] += c.delta?.content ?? '';
        finishes[c.index] = c.finish_reason ?? finishes[c.index];
      }
      usage = chunk.usage ?? usage;
    }
    expect(texts).toEqual(whole.choices.map((c) => c.message.content));
    expect(finishes).toEqual(whole.choices.map((c) => c.finish_reason));
    // The same counts; the repeat's prompt may come from the prefix cache (prompt_tokens_details.cached_tokens).
    expect({ ...usage, prompt_tokens_details: undefined }).toEqual({ ...whole.usage, prompt_tokens_details: undefined });
  }, 120_000);

  it('logit_bias and the penalties change the answer as defined', async () => {
    const plain = await openai.chat.completions.create({ model: 'tiny', messages: ask, max_tokens: 6, temperature: 0, logprobs: true });
    const first = plain.choices[0].logprobs!.content![0];
    const ids = (await (await fetch(`${base}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: first.token }) })).json()) as { tokens: number[] };
    // Banning the greedy first token makes the answer start differently.
    const banned = await openai.chat.completions.create({ model: 'tiny', messages: ask, max_tokens: 6, temperature: 0, logprobs: true, logit_bias: { [ids.tokens[0]]: -100 } });
    expect(banned.choices[0].logprobs!.content![0].token).not.toBe(first.token);
    // A strong frequency penalty forbids repeating a token in a long greedy answer; without it the tiny model repeats.
    const long = { model: 'tiny', messages: ask, max_tokens: 40, temperature: 0 } as const;
    const count = (s: string) => s.length;
    const rep = await openai.chat.completions.create({ ...long, frequency_penalty: 2, presence_penalty: 2, logprobs: true });
    const toks = rep.choices[0].logprobs!.content!.map((e) => e.token);
    expect(new Set(toks).size).toBe(toks.length);
    expect(count(rep.choices[0].message.content!)).toBeGreaterThan(0);
    const minP = await openai.chat.completions.create({ ...long, max_tokens: 4, temperature: 1, seed: 5, min_p: 1 } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    // min_p 1 keeps only the most likely token: sampling at temperature 1 becomes greedy.
    const greedy = await openai.chat.completions.create({ ...long, max_tokens: 4 });
    expect(minP.choices[0].message.content).toBe(greedy.choices[0].message.content);
  }, 120_000);

  it('/v1/completions: a raw prompt without the template, with logprobs, echo, n and streaming', async () => {
    const c = await openai.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 6, temperature: 0, logprobs: 2, echo: true });
    expect(c.object).toBe('text_completion');
    expect(c.choices[0].text.startsWith('Once upon a time')).toBe(true);
    const tok = (await (await fetch(`${base}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Once upon a time' }) })).json()) as { count: number; max_model_len: number };
    expect(c.usage!.prompt_tokens).toBe(tok.count);
    expect(tok.max_model_len).toBeGreaterThan(0);
    expect(c.choices[0].logprobs!.tokens!.join('')).toBe(c.choices[0].text.slice('Once upon a time'.length));
    const stream = await openai.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 6, temperature: 0, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect('Once upon a time' + text).toBe(c.choices[0].text);
    const many = await openai.completions.create({ model: 'tiny', prompt: 'Hi', max_tokens: 4, temperature: 1, seed: 9, n: 2 });
    expect(many.choices.map((x) => x.index)).toEqual([0, 1]);
  }, 120_000);

  it('/v1/models reports max_model_len', async () => {
    const models = (await (await fetch(`${base}/v1/models`, { headers: { authorization: 'Bearer local' } })).json()) as { data: Array<{ id: string; max_model_len: number }> };
    expect(models.data[0]).toMatchObject({ id: 'tiny' });
    expect(models.data[0].max_model_len).toBeGreaterThan(0);
  });
});
