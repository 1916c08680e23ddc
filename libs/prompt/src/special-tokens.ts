/** One added (non-BPE) token as the checkpoint's tokenizer files describe it. */
export interface AddedTokenSpec {
  readonly id: number;
  readonly content: string;
  /** Special tokens are dropped by `skip_special_tokens` decoding. */
  readonly special: boolean;
}

export const ENDOFTEXT_ID = 151643;
export const IM_START_ID = 151644;
export const IM_END_ID = 151645;
export const IMG_START_ID = 151665;
export const IMG_END_ID = 151666;
export const IMG_CONTEXT_ID = 151667;
export const QUAD_START_ID = 151668;
export const QUAD_END_ID = 151669;
export const REF_START_ID = 151670;
export const REF_END_ID = 151671;
export const BOX_START_ID = 151672;
export const BOX_END_ID = 151673;

/** chat() stops on `<|im_end|>` only (the template separator), overriding generation_config.json. */
export const CHAT_EOS_ID = IM_END_ID;
/** What a plain generate() would stop on: generation_config.json's eos_token_id list. */
export const GENERATION_CONFIG_EOS_IDS: readonly number[] = [IM_START_ID, IM_END_ID, ENDOFTEXT_ID];
/** batch_chat() pads with `<|endoftext|>`. */
export const PAD_ID = ENDOFTEXT_ID;

/** Ids of plain words the template relies on (section 8.3); tests pin them so a vocabulary swap is caught. */
export const SYSTEM_WORD_ID = 8948;
export const USER_WORD_ID = 872;
export const ASSISTANT_WORD_ID = 77091;
export const NEWLINE_ID = 198;

/** Byte-level BPE entries shared with Qwen2.5; ids 0..BASE_VOCAB_SIZE-1. */
export const BASE_VOCAB_SIZE = 151643;
/** Rows of InternVL2.5-4B's embedding and lm_head (not Qwen2.5's padded 151936). */
export const VOCAB_SIZE = 151674;

export const ENDOFTEXT = '<|endoftext|>';
export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';
export const IMG_START = '<img>';
export const IMG_END = '</img>';
export const IMG_CONTEXT = '<IMG_CONTEXT>';
export const REF_START = '<ref>';
export const REF_END = '</ref>';
export const BOX_START = '<box>';
export const BOX_END = '</box>';

/** Qwen2.5's own added tokens. Its tool-call and fill-in-the-middle markers are not special, so decoding keeps them. */
export const QWEN25_ADDED_TOKENS: readonly AddedTokenSpec[] = [
  { id: ENDOFTEXT_ID, content: ENDOFTEXT, special: true },
  { id: IM_START_ID, content: IM_START, special: true },
  { id: IM_END_ID, content: IM_END, special: true },
  { id: 151646, content: '<|object_ref_start|>', special: true },
  { id: 151647, content: '<|object_ref_end|>', special: true },
  { id: 151648, content: '<|box_start|>', special: true },
  { id: 151649, content: '<|box_end|>', special: true },
  { id: 151650, content: '<|quad_start|>', special: true },
  { id: 151651, content: '<|quad_end|>', special: true },
  { id: 151652, content: '<|vision_start|>', special: true },
  { id: 151653, content: '<|vision_end|>', special: true },
  { id: 151654, content: '<|vision_pad|>', special: true },
  { id: 151655, content: '<|image_pad|>', special: true },
  { id: 151656, content: '<|video_pad|>', special: true },
  { id: 151657, content: '<tool_call>', special: false },
  { id: 151658, content: '</tool_call>', special: false },
  { id: 151659, content: '<|fim_prefix|>', special: false },
  { id: 151660, content: '<|fim_middle|>', special: false },
  { id: 151661, content: '<|fim_suffix|>', special: false },
  { id: 151662, content: '<|fim_pad|>', special: false },
  { id: 151663, content: '<|repo_name|>', special: false },
  { id: 151664, content: '<|file_sep|>', special: false },
];

/** InternVL's additions, all special, right after Qwen2.5's (so the vocabulary ends at 151673). */
export const INTERNVL_ADDED_TOKENS: readonly AddedTokenSpec[] = [
  { id: IMG_START_ID, content: IMG_START, special: true },
  { id: IMG_END_ID, content: IMG_END, special: true },
  { id: IMG_CONTEXT_ID, content: IMG_CONTEXT, special: true },
  { id: QUAD_START_ID, content: '<quad>', special: true },
  { id: QUAD_END_ID, content: '</quad>', special: true },
  { id: REF_START_ID, content: REF_START, special: true },
  { id: REF_END_ID, content: REF_END, special: true },
  { id: BOX_START_ID, content: BOX_START, special: true },
  { id: BOX_END_ID, content: BOX_END, special: true },
];

export const ADDED_TOKENS: readonly AddedTokenSpec[] = [...QWEN25_ADDED_TOKENS, ...INTERNVL_ADDED_TOKENS];

/**
 * The tokens transformers' `all_special_ids` is built from besides eos/pad: Qwen2.5's list (every special token
 * except `<|endoftext|>`, which is the pad token) followed by InternVL's.
 */
export const ADDITIONAL_SPECIAL_TOKENS: readonly string[] = ADDED_TOKENS.filter(
  (t) => t.special && t.id !== ENDOFTEXT_ID,
).map((t) => t.content);
