/**
 * The model card's video prompt prefix: `Frame1: <image>\n` … one line per sampled frame, no hyphen, followed by the
 * question. (The mvbench eval and the finetuning code use other spellings; the card's is what chat() users send.)
 */
export function videoPromptPrefix(numFrames: number): string {
  let s = '';
  for (let i = 1; i <= numFrames; i++) s += `Frame${i}: <image>\n`;
  return s;
}
