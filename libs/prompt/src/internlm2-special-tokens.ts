import type { AddedTokenSpec } from './special-tokens';

/** InternLM2's chat tokens: pieces of its tokenizer.model at these ids (family doc §5). */
export const INTERNLM2_CHAT_TOKENS: readonly AddedTokenSpec[] = [
  { id: 92538, content: '<|plugin|>', special: true },
  { id: 92539, content: '<|interpreter|>', special: true },
  { id: 92540, content: '<|action_end|>', special: true },
  { id: 92541, content: '<|action_start|>', special: true },
  { id: 92542, content: '<|im_end|>', special: true },
  { id: 92543, content: '<|im_start|>', special: true },
];

/** InternVL's tokens on top of InternLM2's 92544 pieces; the vocabulary ends at 92552. */
export const INTERNLM2_INTERNVL_TOKENS: readonly AddedTokenSpec[] = [
  { id: 92544, content: '<img>', special: true },
  { id: 92545, content: '</img>', special: true },
  { id: 92546, content: '<IMG_CONTEXT>', special: true },
  { id: 92547, content: '<quad>', special: true },
  { id: 92548, content: '</quad>', special: true },
  { id: 92549, content: '<ref>', special: true },
  { id: 92550, content: '</ref>', special: true },
  { id: 92551, content: '<box>', special: true },
  { id: 92552, content: '</box>', special: true },
];

export const INTERNLM2_ADDED_TOKENS: readonly AddedTokenSpec[] = [...INTERNLM2_CHAT_TOKENS, ...INTERNLM2_INTERNVL_TOKENS];
export const INTERNLM2_IM_END_ID = 92542;
export const INTERNLM2_VOCAB_SIZE = 92553;
