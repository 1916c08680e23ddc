/** What Pillow's `ImagingResampleInner` decides before touching pixels: which passes run, over which rows. */
import { AxisCoeffs, computeAxisCoeffs } from './bicubic-coeffs';
import { PreprocessError } from './errors';

export interface ResizePlan {
  /** Horizontal taps, or null when the width does not change (Pillow skips the pass). */
  horiz: AxisCoeffs | null;
  /** Vertical taps, or null when the height does not change. */
  vert: AxisCoeffs | null;
  /** Source rows the horizontal pass covers: exactly the rows the vertical taps reach, [firstRow, firstRow + rows). */
  firstRow: number;
  rows: number;
}

export function planResize(inW: number, inH: number, outW: number, outH: number): ResizePlan {
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1) {
    throw new PreprocessError('invalid_argument', `resize target must be positive integers, got ${outW}×${outH}`);
  }
  const horiz = outW !== inW ? computeAxisCoeffs(inW, outW) : null;
  const vertTaps = computeAxisCoeffs(inH, outH);
  const firstRow = vertTaps.start[0];
  const lastRow = vertTaps.start[outH - 1] + vertTaps.count[outH - 1];
  return { horiz, vert: outH !== inH ? vertTaps : null, firstRow, rows: lastRow - firstRow };
}
