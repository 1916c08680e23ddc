/** Machine-readable reasons, so the gateway can map them to HTTP 400s without parsing messages. */
export type PromptErrorCode =
  | 'IMAGE_COUNT_MISMATCH'
  | 'IMAGE_TOKEN_MISMATCH'
  | 'INVALID_PATCH_COUNT'
  | 'INVALID_ARGUMENT'
  | 'TOKENIZER_FILE_MISSING'
  | 'TOKENIZER_FILE_CORRUPT'
  | 'UNKNOWN_TOKEN_ID';

export class PromptError extends Error {
  readonly code: PromptErrorCode;

  constructor(code: PromptErrorCode, message: string) {
    super(message);
    this.name = 'PromptError';
    this.code = code;
  }
}
