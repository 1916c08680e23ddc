import { describe, expect, it } from 'vitest';
import { PromptError } from './errors';
import {
  combinedImagesQuestion,
  countImagePlaceholders,
  expandImagePlaceholders,
  imageBlock,
  separateImagesQuestion,
  videoQuestion,
  withImagePrefix,
} from './image-placeholders';

const ctx = (n: number): string => '<IMG_CONTEXT>'.repeat(n);

function thrown(fn: () => unknown): PromptError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PromptError);
    return e as PromptError;
  }
  throw new Error('expected a PromptError');
}

describe('image placeholders', () => {
  it('prefixes <image>\\n only for a first turn with images and no placeholder', () => {
    expect(withImagePrefix('What is it?', false, 1)).toBe('<image>\nWhat is it?');
    expect(withImagePrefix('What is it?', false, 0)).toBe('What is it?');
    expect(withImagePrefix('Look: <image> here', false, 1)).toBe('Look: <image> here');
    expect(withImagePrefix('And now?', true, 1)).toBe('And now?');
  });

  it('expands each placeholder in order into <img>, 256·n context tokens and </img>', () => {
    expect(imageBlock(1)).toBe(`<img>${ctx(256)}</img>`);
    expect(expandImagePlaceholders('A <image> B <image> C', [2, 1])).toBe(
      `A <img>${ctx(512)}</img> B <img>${ctx(256)}</img> C`,
    );
    expect(expandImagePlaceholders('x<image>', [3], 4)).toBe(`x<img>${ctx(12)}</img>`);
    expect(expandImagePlaceholders('no images', [])).toBe('no images');
  });

  it('rejects more images than placeholders, naming both counts', () => {
    const e = thrown(() => expandImagePlaceholders('one <image>', [1, 1]));
    expect(e.code).toBe('IMAGE_COUNT_MISMATCH');
    expect(e.message).toContain('1 <image> placeholder');
    expect(e.message).toContain('2 image');
  });

  it('rejects more placeholders than images, naming both counts', () => {
    const e = thrown(() => expandImagePlaceholders('<image> and <image>', [4]));
    expect(e.code).toBe('IMAGE_COUNT_MISMATCH');
    expect(e.message).toContain('2 <image> placeholder');
    expect(e.message).toContain('1 image');
  });

  it('rejects patch counts that are not positive integers', () => {
    expect(thrown(() => expandImagePlaceholders('<image>', [0])).code).toBe('INVALID_PATCH_COUNT');
    expect(thrown(() => expandImagePlaceholders('<image>', [1.5])).code).toBe('INVALID_PATCH_COUNT');
    expect(thrown(() => expandImagePlaceholders('<image>', [1], 0)).code).toBe('INVALID_ARGUMENT');
  });

  it('lays out separate images as the model card does', () => {
    expect(separateImagesQuestion('Describe the two images in detail.', [7, 5])).toEqual({
      question: 'Image-1: <image>\nImage-2: <image>\nDescribe the two images in detail.',
      numPatchesList: [7, 5],
    });
  });

  it('puts combined images behind one placeholder with all their tiles', () => {
    const q = combinedImagesQuestion('Describe the two images in detail.', [7, 5]);
    expect(q).toEqual({ question: '<image>\nDescribe the two images in detail.', numPatchesList: [12] });
    expect(expandImagePlaceholders(q.question, q.numPatchesList)).toBe(
      `<img>${ctx(12 * 256)}</img>\nDescribe the two images in detail.`,
    );
    expect(thrown(() => combinedImagesQuestion('q', [])).code).toBe('INVALID_ARGUMENT');
  });

  it('numbers video frames from 1 without a hyphen, one tile each', () => {
    const q = videoQuestion('What is the red panda doing?', 3);
    expect(q.question).toBe('Frame1: <image>\nFrame2: <image>\nFrame3: <image>\nWhat is the red panda doing?');
    expect(q.numPatchesList).toEqual([1, 1, 1]);
    expect(countImagePlaceholders(q.question)).toBe(3);
  });
});
