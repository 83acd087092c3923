/**
 * Pillow's `Image.resize(..., BICUBIC)` on 8-bit RGB, reproduced bit for bit: a separable convolution
 * (horizontal pass first, then vertical) with the a = −0.5 cubic kernel widened by the scale when shrinking
 * (antialiasing, support 2·scale), weights normalised per output pixel and turned into 22-bit fixed point, each
 * pass rounded and clipped to 0..255. sharp/libvips' bicubic is a different kernel (and shrinks without widening),
 * which moves CLIP's 32-pixel crops by several grey levels; this is why the metrics resize here.
 */

const PRECISION_BITS = 32 - 8 - 2;
const SUPPORT = 2;

function cubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coefficients {
  ksize: number;
  /** Per output pixel: first input index and count. */
  bounds: Int32Array;
  /** Fixed-point weights, ksize per output pixel. */
  weights: Int32Array;
}

function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) truncates toward zero; the operands here are > −1, as in Pillow.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = cubic((x + xmin - center + 0.5) / filterScale);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < ksize; x++) {
      const w = x < xmax && sum !== 0 ? k[x] / sum : 0;
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

function clip8(v: number): number {
  if (v >= 1 << PRECISION_BITS << 8) return 255; // 2^30: still a safe int32 comparison
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/** Resizes interleaved 8-bit pixels (`channels` per pixel) from w×h to outW×outH. */
export function resizeBicubicPil(src: Uint8Array, w: number, h: number, channels: number, outW: number, outH: number): Uint8Array {
  let data = src;
  let curW = w;
  if (outW !== w) {
    const c = coefficients(w, outW);
    const out = new Uint8Array(outW * h * channels);
    const acc = new Int32Array(channels);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const xmin = c.bounds[xx * 2];
        const n = c.bounds[xx * 2 + 1];
        const k0 = xx * c.ksize;
        acc.fill(1 << (PRECISION_BITS - 1));
        // Channels innermost: the pixels of one row are read in memory order.
        let at = (y * w + xmin) * channels;
        for (let x = 0; x < n; x++) {
          const k = c.weights[k0 + x];
          for (let ch = 0; ch < channels; ch++) acc[ch] += data[at++] * k;
        }
        for (let ch = 0; ch < channels; ch++) out[(y * outW + xx) * channels + ch] = clip8(acc[ch]);
      }
    }
    data = out;
    curW = outW;
  }
  if (outH !== h) {
    const c = coefficients(h, outH);
    const out = new Uint8Array(curW * outH * channels);
    for (let yy = 0; yy < outH; yy++) {
      const ymin = c.bounds[yy * 2];
      const n = c.bounds[yy * 2 + 1];
      // Whole rows at a time: the input rows are read in memory order.
      const row = new Int32Array(curW * channels).fill(1 << (PRECISION_BITS - 1));
      for (let y = 0; y < n; y++) {
        const k = c.weights[yy * c.ksize + y];
        const base = (ymin + y) * curW * channels;
        for (let i = 0; i < row.length; i++) row[i] += data[base + i] * k;
      }
      for (let i = 0; i < row.length; i++) out[yy * curW * channels + i] = clip8(row[i]);
    }
    data = out;
  }
  return data === src ? src.slice() : data;
}
