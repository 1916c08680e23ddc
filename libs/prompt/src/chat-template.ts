import { DEFAULT_SYSTEM_MESSAGE } from './conversation';

/**
 * The Jinja chat template stored in tokenizer_config.json, for tools (vLLM, transformers' apply_chat_template)
 * that build prompts from it instead of from buildConversation(). It renders the same `internvl2_5` rule: the
 * default system block unless the first message is a system message, `role + content + <|im_end|>\n` per
 * message, only the role for an empty message, and an open assistant turn when a generation prompt is asked for.
 */
export const CHAT_TEMPLATE = [
  "{%- if messages and messages[0]['role'] == 'system' -%}",
  "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' -}}",
  '{%- else -%}',
  `{{- '<|im_start|>system\\n${DEFAULT_SYSTEM_MESSAGE}<|im_end|>\\n' -}}`,
  '{%- endif -%}',
  '{%- for message in messages -%}',
  "{%- if not (loop.first and message['role'] == 'system') -%}",
  "{{- '<|im_start|>' + message['role'] + '\\n' -}}",
  "{%- if message['content'] -%}{{- message['content'] + '<|im_end|>\\n' -}}{%- endif -%}",
  '{%- endif -%}',
  '{%- endfor -%}',
  "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}",
].join('\n');
