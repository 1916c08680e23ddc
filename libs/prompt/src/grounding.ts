import { PromptError } from './errors';
import { pythonRound } from './python-round';
import { pythonStrip } from './python-strip';
import { BOX_END, BOX_START, REF_END, REF_START } from './special-tokens';

/** [x1, y1, x2, y2]: pixels, or 0–1000 units in model text. */
export type Box = [number, number, number, number];

export interface GroundedObject {
  readonly label: string;
  /** In pixels of the original image. */
  readonly boxes: Box[];
}

/** Grounding coordinates are integers on a 0–1000 grid relative to the image size. */
export const GROUNDING_SCALE = 1000;

const GROUNDING_PROMPT_PREFIX = 'Please provide the bounding box coordinate of the region this sentence describes: ';

/** The referring-expression prompt InternVL was evaluated with (RefCOCO). */
export function groundingPrompt(phrase: string): string {
  return `${GROUNDING_PROMPT_PREFIX}${REF_START}${phrase}${REF_END}`;
}

/**
 * The eval script's box pattern, tolerant of missing or doubled brackets. `[^\n]` stands for Python's `.`, which
 * (unlike JavaScript's) does match \r and U+2028/2029.
 */
const BOX_PATTERN = /\[*\[([^\n]*?),([^\n]*?),([^\n]*?),([^\n]*?)\]\]*/g;
/** Decimal numbers as Python's float() reads them; inf, nan and digit underscores are no coordinates. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const REF_PATTERN = /<ref>([\s\S]*?)<\/ref>/g;
const TAGS = [REF_START, REF_END, BOX_START, BOX_END];

function pythonFloat(s: string): number | undefined {
  const t = pythonStrip(s);
  return NUMBER.test(t) ? Number(t) : undefined;
}

/**
 * Objects and their pixel boxes from a grounding answer, `<ref>label</ref><box>[[x1, y1, x2, y2], ...]</box>`.
 * Like the eval regex it also reads answers whose tags were dropped by skip_special_tokens (`label[[…]]`): the
 * label is then the text just before the boxes. Boxes with non-numeric fields are ignored.
 */
export function parseGrounding(text: string, imageWidth: number, imageHeight: number): GroundedObject[] {
  assertSize(imageWidth, imageHeight);
  const objects: { label: string; boxes: Box[] }[] = [];
  let groupEnd = 0;
  let current: { label: string; boxes: Box[] } | undefined;
  for (const m of text.matchAll(BOX_PATTERN)) {
    const start = m.index;
    const gap = text.slice(groupEnd, start);
    // Boxes separated only by a comma belong to one list, hence one object.
    if (!current || !/^\s*,?\s*$/.test(gap)) {
      current = { label: labelBefore(gap), boxes: [] };
      objects.push(current);
    }
    groupEnd = start + m[0].length;
    const values = [m[1], m[2], m[3], m[4]].map(pythonFloat);
    if (values.some((v) => v === undefined)) continue;
    const [x1, y1, x2, y2] = values as number[];
    current.boxes.push([
      (x1 / GROUNDING_SCALE) * imageWidth,
      (y1 / GROUNDING_SCALE) * imageHeight,
      (x2 / GROUNDING_SCALE) * imageWidth,
      (y2 / GROUNDING_SCALE) * imageHeight,
    ]);
  }
  return objects.filter((o) => o.boxes.length > 0);
}

function labelBefore(gap: string): string {
  const refs = [...gap.matchAll(REF_PATTERN)];
  if (refs.length > 0) return pythonStrip(refs[refs.length - 1][1]);
  let bare = gap;
  for (const tag of TAGS) bare = bare.split(tag).join('');
  return pythonStrip(bare);
}

function assertSize(width: number, height: number): void {
  if (!(width > 0 && height > 0 && Number.isFinite(width) && Number.isFinite(height))) {
    throw new PromptError('INVALID_ARGUMENT', `image size must be positive, got ${width}×${height}`);
  }
}

/** A pixel box on the model's 0–1000 grid, rounded as Python's round() does (`round(x / W * 1000)`). */
export function normalizeBox(box: Box, imageWidth: number, imageHeight: number): Box {
  assertSize(imageWidth, imageHeight);
  const [x1, y1, x2, y2] = box;
  return [
    pythonRound((x1 / imageWidth) * GROUNDING_SCALE),
    pythonRound((y1 / imageHeight) * GROUNDING_SCALE),
    pythonRound((x2 / imageWidth) * GROUNDING_SCALE),
    pythonRound((y2 / imageHeight) * GROUNDING_SCALE),
  ];
}

/** The answer format the model is trained on, from boxes already on the 0–1000 grid. */
export function formatGrounding(label: string, normalizedBoxes: readonly Box[]): string {
  const list = normalizedBoxes.map((b) => `[${b.join(', ')}]`).join(', ');
  return `${REF_START}${label}${REF_END}${BOX_START}[${list}]${BOX_END}`;
}
