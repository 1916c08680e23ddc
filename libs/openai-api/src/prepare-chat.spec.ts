import { parseModelConfig } from '@ivl/checkpoint';
import { prepareInput } from '@ivl/requests';
import { tinyCheckpoint } from '@ivl/test-support';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { chatInputFromOpenAI } from './from-openai';
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from './limits';
import { prepareChat } from './prepare-chat';
import { type ServedModel, loadServedModel } from './served-model';
import { failure } from './testing/failure';

let model: ServedModel;
let png640x480: string;
let png448: string;

const png = async (w: number, h: number) =>
  `data:image/png;base64,${(await sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toBuffer()).toString('base64')}`;

beforeAll(async () => {
  model = await loadServedModel(tinyCheckpoint(), ['tiny']);
  png640x480 = await png(640, 480);
  png448 = await png(448, 448);
});

const body = (content: unknown, extra: Record<string, unknown> = {}) => ({ model: 'tiny', messages: [{ role: 'user', content }], ...extra });
const prep = (b: unknown, limits: Partial<RequestLimits> = {}) => prepareChat(chatInputFromOpenAI(b), { model, limits: { ...DEFAULT_REQUEST_LIMITS, ...limits } });
const image = (url: string, extra: Record<string, unknown> = {}) => ({ type: 'image_url', image_url: { url, ...extra } });


/** The worker's own preparation of the same job: the gateway's count must equal it exactly. */
async function workerCount(p: Awaited<ReturnType<typeof prep>>): Promise<{ ids: number; patches: number[] }> {
  const config = parseModelConfig(JSON.parse(readFileSync(join(model.dir, 'config.json'), 'utf8')));
  const r = await prepareInput(model.tokenizer, config, { ...p.submit.input, images: p.submit.input.images, video: undefined } as never);
  return { ids: r.ids.length, patches: r.numPatchesList };
}

describe('prepareChat counts exactly what the worker will build', () => {
  it('text, one image (13 tiles at the default max_dynamic_patch), two images, multi-turn', async () => {
    const cases = [
      body('Hello, who are you?'),
      body([{ type: 'text', text: 'Describe.' }, image(png640x480)]),
      body([{ type: 'text', text: 'Compare.' }, image(png640x480), image(png448)]),
      {
        model: 'tiny',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [image(png448), { type: 'text', text: 'What colour?' }] },
          { role: 'assistant', content: 'Red.' },
          { role: 'user', content: [{ type: 'text', text: 'And this one?' }, image(png640x480)] },
        ],
      },
    ];
    const expectedPatches = [[], [13], [13, 1], [1, 13]];
    for (const [i, c] of cases.entries()) {
      const p = await prep(c);
      expect(p.numPatches).toEqual(expectedPatches[i]);
      const w = await workerCount(p);
      expect(p.promptTokens, `case ${i}`).toBe(w.ids);
      expect(w.patches).toEqual(p.numPatches);
    }
  });

  it('max_dynamic_patch per request and per image', async () => {
    expect((await prep(body([image(png640x480)], { max_dynamic_patch: 6 }))).numPatches).toEqual([7]);
    const p = await prep(body([image(png640x480, { max_dynamic_patch: 1 }), image(png640x480)], { max_dynamic_patch: 6 }));
    expect(p.numPatches).toEqual([1, 7]);
    expect(p.submit.input.images?.map((i) => i.maxNum)).toEqual([1, 6]);
    expect((await failure(prep(body([image(png448)], { max_dynamic_patch: 99 })))).param).toBe('max_dynamic_patch');
  });

  it('sampling fields map onto the job, max_tokens defaults to the rest of the context', async () => {
    const p = await prep(body('hi', { temperature: 0, top_p: 0.5, top_k: -1, seed: 7, stop: 'END', max_completion_tokens: 12, repetition_penalty: 1.1 }));
    expect(p.submit.sampling).toMatchObject({ temperature: 0, topP: 0.5, topK: 0, seed: 7, stop: ['END'], maxNewTokens: 12, repetitionPenalty: 1.1 });
    const d = await prep(body('hi'));
    expect(d.maxTokens).toBe(model.contextLength - d.promptTokens);
  });
});

describe('prepareChat refuses what must not reach a worker', () => {
  const cases: Array<[string, () => Promise<unknown>, number, string, string | null]> = [
    ['unknown model', () => prep({ ...body('x'), model: 'gpt-4o' }), 404, 'model_not_found', 'model'],
    ['too many images', () => prep(body([image(png448), image(png448), image(png448)]), { maxImagesPerRequest: 2 }), 400, 'too_many_images', 'messages[0].content[2].image_url'],
    ['too many tiles', () => prep(body([image(png640x480)]), { maxTilesPerRequest: 10 }), 400, 'too_many_tiles', 'messages'],
    ['too many pixels', () => prep(body([image(png640x480)]), { maxImagePixels: 100_000 }), 413, 'image_too_large', 'messages[0].content[0].image_url'],
    ['image bytes', () => prep(body([image(png640x480)]), { maxImageBytes: 100 }), 413, 'image_too_large', 'messages[0].content[0].image_url'],
    ['not an image', () => prep(body([image(`data:image/png;base64,${Buffer.from('BM not really').toString('base64')}`)])), 422, 'unsupported_image_format', 'messages[0].content[0].image_url'],
    ['corrupt image', () => prep(body([image(`data:image/png;base64,${Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('garbage')]).toString('base64')}`)])), 422, 'invalid_image', 'messages[0].content[0].image_url'],
    ['data URL not base64', () => prep(body([image('data:image/png,abc')])), 400, 'invalid_url', 'messages[0].content[0].image_url'],
    ['file URL', () => prep(body([image('file:///etc/passwd')])), 400, 'invalid_url', 'messages[0].content[0].image_url'],
    ['prompt over the context', () => prep(body('hello '.repeat(200)), { maxContextTokens: 100 }), 400, 'context_length_exceeded', 'messages'],
    ['max_tokens over the context', () => prep(body('hi', { max_tokens: 40_000 })), 400, 'invalid_value', 'max_tokens'],
    ['prompt + max_tokens over the context', () => prep(body('hi', { max_tokens: 90 }), { maxContextTokens: 100 }), 400, 'context_length_exceeded', 'max_tokens'],
    ['too many stop strings', () => prep(body('hi', { stop: ['a', 'b', 'c'] }), { maxStopSequences: 2 }), 400, 'invalid_value', 'stop'],
    ['literal image tokens', () => prep(body('look: <IMG_CONTEXT>')), 400, 'invalid_image_token', 'messages'],
    ['placeholder without image', () => prep(body('what is <image>?')), 400, 'image_placeholder_mismatch', 'messages[0].content'],
    ['not a video', () => prep(body([{ type: 'video_url', video_url: { url: png448 } }])), 422, 'unsupported_video_format', 'messages[0].content[0].video_url'],
  ];
  for (const [name, run, status, code, param] of cases) {
    it(name, async () => {
      const e = await failure(run());
      expect(e.message).toBeTruthy();
      expect([e.status, e.code, e.param]).toEqual([status, code, param]);
    });
  }
});
