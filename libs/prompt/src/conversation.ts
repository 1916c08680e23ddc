import { IM_END, IM_START } from './special-tokens';

/** InternVL2.5's default system message (section 8.1), kept verbatim: the model was tuned with exactly this text. */
export const DEFAULT_SYSTEM_MESSAGE =
  '你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。';

export const SYSTEM_ROLE = `${IM_START}system\n`;
export const USER_ROLE = `${IM_START}user\n`;
export const ASSISTANT_ROLE = `${IM_START}assistant\n`;
export const TURN_SEPARATOR = `${IM_END}\n`;

export interface ConversationTurn {
  readonly question: string;
  readonly answer: string;
}

export interface Conversation {
  /** Replaces DEFAULT_SYSTEM_MESSAGE; an empty string still yields an (empty) system block, as in the reference. */
  readonly system?: string;
  readonly history?: readonly ConversationTurn[];
  readonly question: string;
}

/**
 * Renders the `internvl2_5` (MPT-style) template with the assistant turn left open for generation.
 * The reference appends `role + message + sep` for a non-empty message but only `role` for an empty one; an empty
 * past answer therefore loses its separator, and that quirk is reproduced so prompts stay token-identical.
 */
export function buildConversation(conversation: Conversation): string {
  const system = conversation.system ?? DEFAULT_SYSTEM_MESSAGE;
  let out = SYSTEM_ROLE + system + TURN_SEPARATOR;
  const message = (role: string, text: string): void => {
    out += text ? role + text + TURN_SEPARATOR : role;
  };
  for (const turn of conversation.history ?? []) {
    message(USER_ROLE, turn.question);
    message(ASSISTANT_ROLE, turn.answer);
  }
  message(USER_ROLE, conversation.question);
  return out + ASSISTANT_ROLE;
}
