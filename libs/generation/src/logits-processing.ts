import type { SamplingParams } from './sampling-params';
import type { TokenConstraint } from './token-constraint';

/**
 * The scores a token is drawn from, in vLLM's order: logit_bias, then OpenAI's presence and frequency penalties
 * (over generated tokens), then Hugging Face's repetition penalty (over prompt and generated tokens), and last the
 * constraint's mask, so nothing can bring a forbidden token back. Returns `logits` itself when nothing applies.
 */
export function processLogits(
  logits: Float32Array,
  p: SamplingParams,
  prompt: readonly number[],
  generated: readonly number[],
  constraint?: TokenConstraint,
): Float32Array {
  const bias = p.logitBias && Object.keys(p.logitBias).length ? p.logitBias : undefined;
  const presence = p.presencePenalty ?? 0;
  const frequency = p.frequencyPenalty ?? 0;
  if (!bias && !presence && !frequency && p.repetitionPenalty === 1 && !constraint) return logits;
  const out = logits.slice();
  if (bias) for (const [id, v] of Object.entries(bias)) if (Number(id) < out.length) out[Number(id)] += v;
  if (presence || frequency) {
    const counts = new Map<number, number>();
    for (const t of generated) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [t, c] of counts) out[t] -= c * frequency + presence;
  }
  if (p.repetitionPenalty !== 1) {
    const r = p.repetitionPenalty;
    for (const id of new Set([...prompt, ...generated])) out[id] = out[id] < 0 ? out[id] * r : out[id] / r;
  }
  constraint?.mask(out);
  return out;
}

export interface TokenLogprob {
  token: number;
  logprob: number;
  /** The most likely tokens with their log-probabilities, most likely first (as many as asked). */
  top: Array<[number, number]>;
}

/**
 * log_softmax of `scores` at the chosen token and at the `k` most likely tokens. Tokens masked to -Infinity are
 * never listed (they have probability 0).
 */
export function tokenLogprob(scores: Float32Array, token: number, k: number): TokenLogprob {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += Math.exp(scores[i] - max);
  const lse = max + Math.log(sum);
  const top: Array<[number, number]> = [];
  if (k > 0) {
    // A small sorted list: most of the vocabulary is rejected by one comparison with its last entry.
    const ids: number[] = [];
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i];
      if (s === -Infinity || (ids.length === k && s <= scores[ids[k - 1]])) continue;
      if (ids.length < k) ids.push(i);
      else ids[k - 1] = i;
      // Ties keep the lower id first.
      for (let j = ids.length - 1; j > 0 && scores[ids[j - 1]] < scores[ids[j]]; j--) [ids[j - 1], ids[j]] = [ids[j], ids[j - 1]];
    }
    for (const i of ids) top.push([i, scores[i] - lse]);
  }
  return { token, logprob: scores[token] - lse, top };
}
