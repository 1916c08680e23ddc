// Image and video preprocessing exactly as the model card: PIL-exact resampling, dynamic tiling, frame sampling.
export { PreprocessError, isPreprocessError } from './errors';
export type { PreprocessErrorCode } from './errors';
export { DEFAULT_LIMITS } from './limits';
export type { ImageLimits } from './limits';
export type { RgbImage } from './rgb-image';
export { SUPPORTED_FORMATS_TEXT, SUPPORTED_IMAGE_FORMATS, sniffImageFormat } from './image-format';
export type { SupportedImageFormat } from './image-format';
export { decodeImage } from './decode-image';
export { resizeBicubic, resizeBicubicMany } from './resize-bicubic';
export {
  DEFAULT_MAX_TILES,
  MAX_TILES_LIMIT,
  TILE_SIZE,
  candidateGrids,
  closestGrid,
  planTiles,
} from './tile-plan';
export type { Grid, TileOptions, TilePlan } from './tile-plan';
export { dynamicPreprocess } from './dynamic-preprocess';
export type { TiledImage } from './dynamic-preprocess';
export { IMAGENET_MEAN, IMAGENET_STD, normalizeTiles } from './normalize';
export { imageToTensor, loadImage } from './load-image';
export type { LoadImageOptions, LoadedImage } from './load-image';
export { roundHalfEven } from './python-round';
export { getFrameIndices } from './frame-indices';
export type { FrameIndexOptions } from './frame-indices';
export { loadVideo } from './load-video';
export type { LoadVideoOptions, LoadedVideo, VideoLimits } from './load-video';
export { videoPromptPrefix } from './video-prompt';
export { Semaphore } from './semaphore';
export { IN_THREAD_MEDIA, MAX_CONCURRENT_DECODES, inThreadMedia } from './media-loader';
export type { MediaLoader } from './media-loader';
export { MediaPool, MediaPoolBusyError } from './pool/media-pool';
export type { MediaPoolOptions } from './pool/media-pool';
