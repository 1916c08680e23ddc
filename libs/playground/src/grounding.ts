/** A grounded phrase of an answer: its label and boxes in InternVL's 0–1000 normalised coordinates. */
export interface GroundedRef {
  label: string;
  boxes: Array<[number, number, number, number]>;
}

const REF = /<ref>([\s\S]*?)<\/ref>\s*<box>([\s\S]*?)<\/box>/g;

/**
 * Reads `<ref>label</ref><box>[[x1, y1, x2, y2], …]</box>` pairs (the model card's grounding format, coordinates
 * 0–1000 of the image) and returns them with the text as it should be shown: the label kept, the box list dropped.
 * A box list that does not parse is left out.
 */
export function parseGrounding(text: string): { text: string; refs: GroundedRef[] } {
  const refs: GroundedRef[] = [];
  const shown = text.replace(REF, (_all, label: string, list: string) => {
    const boxes: GroundedRef['boxes'] = [];
    for (const m of list.matchAll(/\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]/g)) {
      const [x1, y1, x2, y2] = m.slice(1, 5).map((v) => Math.min(1000, Math.max(0, Number(v))));
      if (x2 > x1 && y2 > y1) boxes.push([x1, y1, x2, y2]);
    }
    if (boxes.length) refs.push({ label: label.trim(), boxes });
    return label;
  });
  // A tag without its pair (an answer cut by max_tokens) is not shown either.
  return { text: shown.replace(/<\/?(ref|box|quad)>/g, ''), refs };
}
