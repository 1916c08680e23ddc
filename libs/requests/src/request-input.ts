import type { ConversationTurn } from '@ivl/prompt';

export interface ImageInput {
  data: Uint8Array;
  /** max_dynamic_patch for this image. */
  maxNum?: number;
}

export interface VideoInput {
  /** A file path or the encoded bytes. */
  data: Uint8Array | string;
  numSegments: number;
  bound?: [number, number];
}

/** One chat() call with its media as bytes. */
export interface RequestInput {
  system?: string;
  history?: ConversationTurn[];
  question: string;
  /** Every image of the conversation, in placeholder order (earlier turns first). */
  images?: ImageInput[];
  video?: VideoInput;
  /** One `<image>` for the tiles of all images (the card's combined form). */
  combineImages?: boolean;
  /** Default max_dynamic_patch for this request. */
  maxNum?: number;
}

/** Bounds on one request, so a huge input fails with a clear error instead of exhausting a worker. */
export interface RequestLimits {
  maxImages: number;
  maxTilesPerRequest: number;
  maxPixelsPerImage: number;
  maxVideoFrames: number;
  /** Prompt tokens + max new tokens must fit here (the model's context by default). */
  maxContextTokens?: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxImages: 16,
  // 13 tiles is one image at max_dynamic_patch 12; 64 allows several detailed images in one request.
  maxTilesPerRequest: 64,
  maxPixelsPerImage: 50_000_000,
  maxVideoFrames: 64,
};

/**
 * Limits from the environment, with the same variable names the gateway reads, so a worker never refuses what the
 * gateway admitted (and the CLI can be bounded the same way).
 */
export function requestLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): RequestLimits {
  const num = (name: string, fallback: number | undefined) => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer (got ${v})`);
    return n;
  };
  return {
    maxImages: num('IVL_MAX_IMAGES', DEFAULT_REQUEST_LIMITS.maxImages)!,
    maxTilesPerRequest: num('IVL_MAX_TILES', DEFAULT_REQUEST_LIMITS.maxTilesPerRequest)!,
    maxPixelsPerImage: num('IVL_MAX_IMAGE_PIXELS', DEFAULT_REQUEST_LIMITS.maxPixelsPerImage)!,
    maxVideoFrames: num('IVL_MAX_VIDEO_FRAMES', DEFAULT_REQUEST_LIMITS.maxVideoFrames)!,
    maxContextTokens: num('IVL_MAX_MODEL_LEN', undefined),
  };
}
