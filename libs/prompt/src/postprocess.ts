import { pythonStrip } from './python-strip';
import { IM_END } from './special-tokens';

/**
 * chat()'s last step on the decoded answer: `split('<|im_end|>')[0].strip()`. The marker can still be there when
 * decoding kept special tokens or generation ran past it.
 */
export function postprocessAnswer(text: string): string {
  const end = text.indexOf(IM_END);
  return pythonStrip(end === -1 ? text : text.slice(0, end));
}
