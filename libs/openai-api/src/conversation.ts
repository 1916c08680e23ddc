import { IMAGE_PLACEHOLDER, countImagePlaceholders } from '@ivl/prompt';
import type { InputMessage, InputPart, MediaSource } from './chat-input';
import { badRequest } from './errors';

export interface ImageSlot {
  source: MediaSource;
  maxNum?: number;
  detail?: 'auto' | 'low' | 'high';
  param: string;
}

export interface VideoSlot {
  source: MediaSource;
  numSegments?: number;
  bound?: [number, number];
  param: string;
}

/** The model card's chat(): a system text, earlier (question, answer) pairs and the new question. */
export interface CardConversation {
  system?: string;
  history: Array<{ question: string; answer: string }>;
  /** The last user message; with a video, without its `Frame<i>: <image>` lines (the worker prepends them). */
  question: string;
  /** Every image in placeholder order: earlier turns first, as chat() expects them re-sent. */
  images: ImageSlot[];
  video?: VideoSlot;
}

type Rendered = { role: 'user' | 'assistant'; text: string; images: ImageSlot[]; video?: VideoSlot; param: string };

/**
 * OpenAI messages → chat(). Leading system/developer messages become the system text; then user and assistant
 * turns must alternate (consecutive messages of one role are joined with a newline) and end with the user.
 * Image placement in a user message, in order of precedence:
 *  1. the text already contains `<image>` placeholders: images fill them in order (counts must match);
 *  2. images sit between text parts: each becomes `<image>` at its position, parts joined by newlines;
 *  3. otherwise the card's forms: `<image>\n{text}` for one image, `Image-1: <image>\nImage-2: <image>\n{text}` for several.
 */
export function toCardConversation(messages: readonly InputMessage[]): CardConversation {
  let i = 0;
  const system: string[] = [];
  for (; i < messages.length && messages[i].role === 'system'; i++) system.push(textOf(messages[i]));
  const turns: Rendered[] = [];
  for (; i < messages.length; i++) {
    const m = messages[i];
    if (m.role === 'system') throw badRequest('invalid_value', 'system and developer messages must come before all user and assistant messages', `${m.param}.role`);
    const r = m.role === 'user' ? renderUser(m) : renderAssistant(m);
    const last = turns[turns.length - 1];
    if (last && last.role === r.role) {
      last.text = `${last.text}\n${r.text}`;
      last.images.push(...r.images);
      if (r.video) last.video = r.video;
    } else turns.push(r);
  }
  if (turns.length === 0) throw badRequest('invalid_value', 'messages must contain at least one user message', 'messages');
  if (turns[0].role !== 'user') throw badRequest('invalid_value', 'the first message after the system messages must be from the user', `${turns[0].param}.role`);
  const final = turns[turns.length - 1];
  if (final.role !== 'user') throw badRequest('invalid_value', 'the last message must be from the user (assistant prefill is not supported)', `${final.param}.role`);

  const history: CardConversation['history'] = [];
  const images: ImageSlot[] = [];
  for (let t = 0; t + 1 < turns.length; t += 2) {
    if (turns[t].video) throw badRequest('invalid_value', 'a video is only supported in the last user message', turns[t].video!.param);
    history.push({ question: turns[t].text, answer: turns[t + 1].text });
    images.push(...turns[t].images);
  }
  images.push(...final.images);
  if (final.video && images.length) throw badRequest('invalid_value', 'a request with a video cannot also contain images', final.video.param);
  return { system: system.length ? system.join('\n') : undefined, history, question: final.text, images, video: final.video };
}

function textOf(m: InputMessage): string {
  return m.parts
    .map((p) => {
      if (p.type !== 'text') throw badRequest('invalid_value', `only text content is allowed in ${m.role} messages`, p.param);
      return p.text;
    })
    .join('\n');
}

function renderAssistant(m: InputMessage): Rendered {
  return { role: 'assistant', text: textOf(m), images: [], param: m.param };
}

function renderUser(m: InputMessage): Rendered {
  const texts = m.parts.filter((p): p is Extract<InputPart, { type: 'text' }> => p.type === 'text').map((p) => p.text);
  const imageParts = m.parts.filter((p): p is Extract<InputPart, { type: 'image' }> => p.type === 'image');
  const videos = m.parts.filter((p): p is Extract<InputPart, { type: 'video' }> => p.type === 'video');
  if (videos.length > 1) throw badRequest('invalid_value', 'at most one video per request is supported', videos[1].param);
  const video = videos[0] ? { source: videos[0].source, numSegments: videos[0].numSegments, bound: videos[0].bound, param: videos[0].param } : undefined;
  const images = imageParts.map((p) => ({ source: p.source, maxNum: p.maxNum, detail: p.detail, param: p.param }));
  const joined = texts.join('\n');
  const written = countImagePlaceholders(joined);
  if (written > 0) {
    if (written !== images.length) {
      throw badRequest(
        'image_placeholder_mismatch',
        `the message text has ${written} ${IMAGE_PLACEHOLDER} placeholder(s) but the message carries ${images.length} image(s)`,
        `${m.param}.content`,
      );
    }
    return { role: 'user', text: joined, images, video, param: m.param };
  }
  if (images.length === 0) return { role: 'user', text: joined, images, video, param: m.param };
  if (interleaved(m.parts)) {
    const text = m.parts
      .filter((p) => p.type === 'image' || (p.type === 'text' && p.text !== ''))
      .map((p) => (p.type === 'text' ? p.text : IMAGE_PLACEHOLDER))
      .join('\n');
    return { role: 'user', text, images, video, param: m.param };
  }
  const prefix = images.length === 1 ? `${IMAGE_PLACEHOLDER}\n` : images.map((_, k) => `Image-${k + 1}: ${IMAGE_PLACEHOLDER}\n`).join('');
  return { role: 'user', text: prefix + joined, images, video, param: m.param };
}

/** True when some image has non-empty text both before and after it. */
function interleaved(parts: readonly InputPart[]): boolean {
  const isText = (p: InputPart) => p.type === 'text' && p.text.trim() !== '';
  return parts.some((p, k) => p.type === 'image' && parts.slice(0, k).some(isText) && parts.slice(k + 1).some(isText));
}
