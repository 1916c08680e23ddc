/**
 * What one request may cost. Everything is checked at the gateway before a job is queued, so an oversized request
 * is a 4xx for its sender and never an out-of-memory for a worker (vLLM #7160, #34040; LMDeploy #2263, #2887).
 */
export interface RequestLimits {
  /** JSON body size (data: URLs count here). */
  maxBodyBytes: number;
  /** Images in one request, earlier turns included (they are re-sent, and re-encoded). */
  maxImagesPerRequest: number;
  /** Encoded size of one image, from a data: URL or a download. */
  maxImageBytes: number;
  /** width × height of one image, read from its header before any decoding (decompression bombs). */
  maxImagePixels: number;
  /** 448-px tiles in one request (images and video frames); each tile is 256 prompt tokens and one ViT pass. */
  maxTilesPerRequest: number;
  /** Largest `max_dynamic_patch` a request may ask for. */
  maxDynamicPatch: number;
  maxVideoBytes: number;
  maxVideoFrames: number;
  /** Frames sampled from a video when the request does not say (the model card's example uses 8). */
  defaultVideoFrames: number;
  /** Prompt tokens + max_tokens must fit here; defaults to the model's max_position_embeddings. */
  maxContextTokens?: number;
  /** Upper bound on prompt tokens alone (defaults to the context). */
  maxPromptTokens?: number;
  /** Upper bound on max_tokens; a request without max_tokens gets min(this, context − prompt). Defaults to the context. */
  maxTokens?: number;
  maxStopSequences: number;
  /** Largest `n` (choices per request); each choice is a sequence in the pipeline. */
  maxChoices: number;
  /** Downloads of image/video URLs. */
  urlTimeoutMs: number;
  maxRedirects: number;
  /** Let URLs reach loopback, private and link-local addresses (local testing only). */
  allowPrivateUrls: boolean;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxBodyBytes: 32 * 1024 * 1024,
  maxImagesPerRequest: 16,
  maxImageBytes: 20 * 1024 * 1024,
  maxImagePixels: 50_000_000,
  // As the workers' own bound (libs/requests DEFAULT_REQUEST_LIMITS): a request admitted here must not fail there.
  maxTilesPerRequest: 64,
  maxDynamicPatch: 24,
  maxVideoBytes: 64 * 1024 * 1024,
  maxVideoFrames: 32,
  defaultVideoFrames: 8,
  maxStopSequences: 16,
  maxChoices: 8,
  urlTimeoutMs: 10_000,
  maxRedirects: 3,
  allowPrivateUrls: false,
};
