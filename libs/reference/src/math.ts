/** Scalar and vector helpers for the reference forward pass; accumulation in double precision. */

/** erf to ~1e-15: Taylor series near zero, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = x;
    let term = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Lentz's continued fraction for erfc(ax) = exp(-ax²)/√π · 1/(ax + 1/2/(ax + 1/(ax + 3/2/(ax + ...))))
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const a = n / 2;
    d = ax + a * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + a / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** y[r, n] = Σ_k x[r, k] · W[n, k] + b[n], with W stored [out, in] as in PyTorch checkpoints. */
export function linear(x: Float32Array, rows: number, inDim: number, W: Float32Array, outDim: number, b?: Float32Array): Float32Array {
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const xo = r * inDim;
    for (let n = 0; n < outDim; n++) {
      const wo = n * inDim;
      let s = 0;
      for (let k = 0; k < inDim; k++) s += x[xo + k] * W[wo + k];
      y[r * outDim + n] = s + (b ? b[n] : 0);
    }
  }
  return y;
}

/** LayerNorm over the last axis with biased variance, as torch.nn.LayerNorm. */
export function layerNorm(x: Float32Array, rows: number, dim: number, w: Float32Array, b: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[o + i];
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[o + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = (x[o + i] - mean) * inv * w[i] + b[i];
  }
  return y;
}

/** Qwen2 RMSNorm: w · x / sqrt(mean(x²) + eps). */
export function rmsNorm(x: Float32Array, rows: number, dim: number, w: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = w[i] * (x[o + i] * inv);
  }
  return y;
}

export function addInPlace(a: Float32Array, b: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
  return a;
}

/** Softmax-weighted sum of values for one query over `n` keys (scores given), in double precision. */
export function softmaxInPlace(scores: Float64Array, n: number): void {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (scores[i] > m) m = scores[i];
  let s = 0;
  for (let i = 0; i < n; i++) {
    scores[i] = Math.exp(scores[i] - m);
    s += scores[i];
  }
  for (let i = 0; i < n; i++) scores[i] /= s;
}
