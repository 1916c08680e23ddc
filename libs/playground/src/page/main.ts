/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { parseGrounding } from '../grounding';
import { SseParser } from '../sse';
import { renderMarkdown } from './markdown';

/**
 * The playground page: InternVL's demo features over the public REST API (/v1/chat/completions, streaming), with
 * the user's own API key (kept in this tab's sessionStorage, never in the page). Everything it loads comes from
 * the gateway itself.
 */
const MAX_IMAGES = 4;
const DEFAULT_SYSTEM = '你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。';

interface Turn {
  role: 'user' | 'assistant';
  text: string;
  images: string[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const turns: Turn[] = [];
let pending: string[] = [];
let running: AbortController | undefined;
let model = '';

const log = $<HTMLOListElement>('log');
const question = $<HTMLTextAreaElement>('question');
const apiKey = $<HTMLInputElement>('api-key');
const system = $<HTMLTextAreaElement>('system');
const errorBox = $<HTMLDivElement>('error');

function slider(id: string): number {
  return Number($<HTMLInputElement>(id).value);
}

function showError(message: string): void {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearError(): void {
  errorBox.hidden = true;
  errorBox.textContent = '';
}

function setRunning(on: boolean): void {
  $<HTMLButtonElement>('send').disabled = on;
  $<HTMLButtonElement>('regenerate').disabled = on;
  $<HTMLButtonElement>('stop').disabled = !on;
}

function headers(): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey.value) h.authorization = `Bearer ${apiKey.value}`;
  return h;
}

/** The error message of a non-2xx answer, from OpenAI's error body when there is one. */
async function errorOf(r: Response): Promise<string> {
  const body = (await r.json().catch(() => undefined)) as { error?: { message?: string; code?: string } } | undefined;
  const what = body?.error?.message ?? r.statusText;
  return r.status === 401 ? `Not authorised (401): ${what}. Enter a valid API key.` : `Request refused (${r.status}${body?.error?.code ? ` ${body.error.code}` : ''}): ${what}`;
}

async function loadModel(): Promise<void> {
  const r = await fetch('/v1/models', { headers: headers() });
  if (!r.ok) {
    showError(await errorOf(r));
    return;
  }
  const body = (await r.json()) as { data: Array<{ id: string; max_model_len: number }> };
  model = body.data[0]?.id ?? '';
  $('model-name').textContent = model ? `${model} · context ${body.data[0].max_model_len} tokens` : '';
  clearError();
}

function renderAttachments(): void {
  const box = $('attachments');
  box.replaceChildren(
    ...pending.map((src, i) => {
      const fig = document.createElement('figure');
      const img = document.createElement('img');
      img.src = src;
      img.alt = `image ${i + 1}`;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = '×';
      remove.title = 'Remove';
      remove.onclick = () => {
        pending.splice(i, 1);
        renderAttachments();
      };
      fig.append(img, remove);
      return fig;
    }),
  );
}

function addFiles(files: Iterable<File>): void {
  for (const f of files) {
    if (!f.type.startsWith('image/')) continue;
    if (pending.length + turns.reduce((n, t) => n + t.images.length, 0) >= MAX_IMAGES) {
      showError(`At most ${MAX_IMAGES} images per conversation.`);
      break;
    }
    const reader = new FileReader();
    reader.onload = () => {
      pending.push(String(reader.result));
      renderAttachments();
    };
    reader.readAsDataURL(f);
  }
}

/** The first image of the conversation: the one grounding coordinates refer to. */
function firstImage(): string | undefined {
  return turns.find((t) => t.images.length)?.images[0];
}

function bubble(turn: Turn): HTMLLIElement {
  const li = document.createElement('li');
  li.className = turn.role;
  if (turn.images.length) {
    const thumbs = document.createElement('div');
    thumbs.className = 'thumbs';
    for (const src of turn.images) {
      const img = document.createElement('img');
      img.src = src;
      img.alt = 'attached image';
      thumbs.append(img);
    }
    li.append(thumbs);
  }
  const answer = document.createElement('div');
  answer.className = turn.role === 'assistant' ? 'answer' : 'text';
  li.append(answer);
  fillBubble(li, turn.text, turn.role);
  log.append(li);
  return li;
}

/** Writes a message: user text as text, answers as sanitised markdown with grounding boxes drawn on the image. */
function fillBubble(li: HTMLLIElement, raw: string, role: Turn['role']): void {
  const target = li.querySelector<HTMLElement>('.answer, .text')!;
  li.dataset.raw = raw;
  if (role === 'user') {
    target.textContent = raw;
    return;
  }
  const g = parseGrounding(raw);
  target.innerHTML = renderMarkdown(g.text);
  li.querySelector('.grounding')?.remove();
  const image = firstImage();
  if (g.refs.length && image) li.append(groundingView(image, g.refs));
}

const COLOURS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4'];

function groundingView(src: string, refs: ReturnType<typeof parseGrounding>['refs']): HTMLElement {
  const wrap = document.createElement('div');
  wrap.className = 'grounding';
  const img = document.createElement('img');
  img.src = src;
  img.alt = 'grounded image';
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  // Coordinates are 0–1000 of the image's width and height.
  svg.setAttribute('viewBox', '0 0 1000 1000');
  svg.setAttribute('preserveAspectRatio', 'none');
  refs.forEach((ref, i) => {
    for (const [x1, y1, x2, y2] of ref.boxes) {
      const rect = document.createElementNS(ns, 'rect');
      rect.setAttribute('x', String(x1));
      rect.setAttribute('y', String(y1));
      rect.setAttribute('width', String(x2 - x1));
      rect.setAttribute('height', String(y2 - y1));
      rect.setAttribute('stroke', COLOURS[i % COLOURS.length]);
      rect.dataset.label = ref.label;
      const label = document.createElementNS(ns, 'text');
      label.setAttribute('x', String(x1 + 4));
      label.setAttribute('y', String(Math.max(28, y1 + 28)));
      label.setAttribute('fill', COLOURS[i % COLOURS.length]);
      label.textContent = ref.label;
      svg.append(rect, label);
    }
  });
  wrap.append(img, svg);
  return wrap;
}

/** OpenAI messages for the conversation so far; images go with the user turn they were attached to. */
function messages(): unknown[] {
  const out: unknown[] = [];
  if (system.value.trim()) out.push({ role: 'system', content: system.value });
  for (const t of turns) {
    if (t.role === 'assistant') out.push({ role: 'assistant', content: t.text });
    else if (!t.images.length) out.push({ role: 'user', content: t.text });
    else out.push({ role: 'user', content: [...t.images.map((url) => ({ type: 'image_url', image_url: { url } })), { type: 'text', text: t.text }] });
  }
  return out;
}

/** Streams the answer to the conversation as it stands into a new assistant bubble. */
async function answer(): Promise<void> {
  clearError();
  if (!model) await loadModel();
  if (!model) return;
  const turn: Turn = { role: 'assistant', text: '', images: [] };
  const li = bubble(turn);
  li.classList.add('pending');
  running = new AbortController();
  setRunning(true);
  try {
    const r = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: headers(),
      signal: running.signal,
      body: JSON.stringify({
        model,
        messages: messages(),
        stream: true,
        temperature: slider('temperature'),
        top_p: slider('top-p'),
        repetition_penalty: slider('repetition-penalty'),
        max_tokens: slider('max-tokens'),
        max_dynamic_patch: slider('max-tiles'),
        // Grounding tags are special tokens: keep them, to draw the boxes.
        skip_special_tokens: false,
      }),
    });
    if (!r.ok || !r.body) {
      li.remove();
      showError(await errorOf(r));
      return;
    }
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    const sse = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const data of sse.push(value)) {
        if (data === '[DONE]') continue;
        const chunk = JSON.parse(data) as { error?: { message: string }; choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }> };
        if (chunk.error) throw new Error(chunk.error.message);
        const c = chunk.choices?.[0];
        if (c?.delta?.content) {
          turn.text += c.delta.content;
          fillBubble(li, turn.text, 'assistant');
        }
        if (c?.finish_reason) li.dataset.finish = c.finish_reason;
      }
    }
    turns.push(turn);
  } catch (e) {
    if ((e as Error).name === 'AbortError') turns.push(turn);
    else {
      showError(`The answer failed: ${(e as Error).message}`);
      if (!turn.text) li.remove();
      else turns.push(turn);
    }
  } finally {
    li.classList.remove('pending');
    li.dataset.done = 'true';
    running = undefined;
    setRunning(false);
  }
}

function send(): void {
  const text = question.value.trim();
  if (!text || running) return;
  const turn: Turn = { role: 'user', text, images: pending };
  pending = [];
  renderAttachments();
  question.value = '';
  turns.push(turn);
  bubble(turn);
  void answer();
}

function regenerate(): void {
  if (running || !turns.length) return;
  if (turns[turns.length - 1].role === 'assistant') {
    turns.pop();
    log.lastElementChild?.remove();
  }
  if (turns.length) void answer();
}

function clear(): void {
  running?.abort();
  turns.length = 0;
  pending = [];
  renderAttachments();
  log.replaceChildren();
  clearError();
}

function init(): void {
  system.value = DEFAULT_SYSTEM;
  apiKey.value = sessionStorage.getItem('ivl-api-key') ?? '';
  apiKey.addEventListener('change', () => {
    sessionStorage.setItem('ivl-api-key', apiKey.value);
    model = '';
    void loadModel();
  });
  for (const out of document.querySelectorAll<HTMLOutputElement>('output[for]')) {
    const input = $<HTMLInputElement>(out.htmlFor.value);
    const show = () => (out.textContent = input.value);
    input.addEventListener('input', show);
    show();
  }
  $<HTMLFormElement>('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  question.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  });
  $<HTMLInputElement>('files').addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    addFiles(input.files ?? []);
    input.value = '';
  });
  document.addEventListener('paste', (e) => addFiles([...(e.clipboardData?.files ?? [])]));
  $('stop').addEventListener('click', () => running?.abort());
  $('regenerate').addEventListener('click', regenerate);
  $('clear').addEventListener('click', clear);
  setRunning(false);
  void loadModel();
}

// For the browser tests: the renderer an answer goes through.
(window as unknown as { ivlPlayground: object }).ivlPlayground = { renderMarkdown, showAnswer: (raw: string) => bubble({ role: 'assistant', text: raw, images: [] }) };
init();
