import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { AppError } from '../../shared/errors';
import { resizeBicubicPil } from './pil-resize';

/**
 * Image → model inputs, as the reference preprocessors do it:
 *  - CLIP: transformers' CLIPImageProcessor driven by preprocessor_config.json — RGB, resize the shortest edge
 *    (long edge = int(size · long / short)) with PIL's resample filter, center crop (top/left = floor of half the
 *    excess), ·rescale_factor, (x − mean) / std, CHW;
 *  - LPIPS: resize to size×size with PIL bicubic, x / 127.5 − 1 (lpips' im2tensor), CHW.
 * Decoding uses sharp (libjpeg-turbo / libpng, as PIL); resizing is ours (pil-resize.ts).
 */

export interface RgbImage {
  width: number;
  height: number;
  /** Interleaved RGB, 8 bits per channel. */
  data: Uint8Array;
}

export async function decodeRgb(input: string | Buffer): Promise<RgbImage> {
  let bytes: Buffer;
  if (typeof input === 'string') {
    try {
      bytes = readFileSync(input);
    } catch (err) {
      throw new AppError('quality.image_unreadable', `${input}: cannot read (${(err as Error).message})`, { file: input });
    }
  } else bytes = input;
  try {
    const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    const name = typeof input === 'string' ? input : 'image';
    throw new AppError('quality.image_unreadable', `${name}: cannot decode the image (${(err as Error).message})`, { file: name });
  }
}

export interface ClipPreprocessor {
  shortestEdge: number;
  cropHeight: number;
  cropWidth: number;
  doResize: boolean;
  doCenterCrop: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  mean: [number, number, number];
  std: [number, number, number];
}

const OPENAI_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** Reads preprocessor_config.json (CLIPImageProcessor, or the older CLIPFeatureExtractor integer sizes). */
export function readClipPreprocessor(raw: Record<string, unknown>, source: string): ClipPreprocessor {
  const bad = (key: string, why: string): never => {
    throw new AppError('quality.model_invalid', `${source}: "${key}" = ${JSON.stringify(raw[key])}: ${why}`, { file: source, key });
  };
  const size = raw.size;
  const shortestEdge = typeof size === 'number' ? size : (size as { shortest_edge?: unknown } | undefined)?.shortest_edge;
  if (typeof shortestEdge !== 'number' || shortestEdge <= 0) bad('size', 'expected {"shortest_edge": n} or a number');
  const crop = raw.crop_size;
  const cropHeight = typeof crop === 'number' ? crop : (crop as { height?: unknown } | undefined)?.height;
  const cropWidth = typeof crop === 'number' ? crop : (crop as { width?: unknown } | undefined)?.width;
  if (typeof cropHeight !== 'number' || typeof cropWidth !== 'number') bad('crop_size', 'expected {"height": n, "width": n} or a number');
  const resample = raw.resample ?? 3;
  if (resample !== 3) bad('resample', 'only 3 (bicubic) is implemented');
  const triple = (key: string, fallback: [number, number, number]): [number, number, number] => {
    const v = raw[key] ?? fallback;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number')) return bad(key, 'expected three numbers');
    return v as [number, number, number];
  };
  const flag = (key: string): boolean => raw[key] !== false;
  return {
    shortestEdge: shortestEdge as number,
    cropHeight: cropHeight as number,
    cropWidth: cropWidth as number,
    doResize: flag('do_resize'),
    doCenterCrop: flag('do_center_crop'),
    rescaleFactor: raw.do_rescale === false ? 1 : typeof raw.rescale_factor === 'number' ? raw.rescale_factor : 1 / 255,
    doNormalize: flag('do_normalize'),
    mean: triple('image_mean', OPENAI_MEAN),
    std: triple('image_std', OPENAI_STD),
  };
}

/** Center crop (zero-padded where the image is smaller, as transformers pads). */
function centerCrop(img: RgbImage, ch: number, cw: number): RgbImage {
  const top = Math.floor((img.height - ch) / 2);
  const left = Math.floor((img.width - cw) / 2);
  const out = new Uint8Array(ch * cw * 3);
  for (let y = 0; y < ch; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < cw; x++) {
      const sx = x + left;
      if (sx < 0 || sx >= img.width) continue;
      for (let c = 0; c < 3; c++) out[(y * cw + x) * 3 + c] = img.data[(sy * img.width + sx) * 3 + c];
    }
  }
  return { width: cw, height: ch, data: out };
}

/** CLIP pixel_values for one image: Float32Array [3, cropH, cropW]. */
export function clipPixelValues(img: RgbImage, p: ClipPreprocessor): Float32Array {
  let cur = img;
  if (p.doResize) {
    const short = Math.min(img.width, img.height);
    const long = Math.max(img.width, img.height);
    const newLong = Math.trunc((p.shortestEdge * long) / short);
    const [w, h] = img.width <= img.height ? [p.shortestEdge, newLong] : [newLong, p.shortestEdge];
    if (w !== img.width || h !== img.height) cur = { width: w, height: h, data: resizeBicubicPil(img.data, img.width, img.height, 3, w, h) };
  }
  if (p.doCenterCrop) cur = centerCrop(cur, p.cropHeight, p.cropWidth);
  const plane = cur.width * cur.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = p.doNormalize ? p.mean[c] : 0;
    const std = p.doNormalize ? p.std[c] : 1;
    for (let i = 0; i < plane; i++) out[c * plane + i] = Math.fround(Math.fround(cur.data[i * 3 + c] * p.rescaleFactor) - mean) / std;
  }
  return out;
}

/** LPIPS input for one image: Float32Array [3, size, size] in [−1, 1]. */
export function lpipsInput(img: RgbImage, size: number): Float32Array {
  const data = img.width === size && img.height === size ? img.data : resizeBicubicPil(img.data, img.width, img.height, 3, size, size);
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) out[c * plane + i] = data[i * 3 + c] / 127.5 - 1;
  return out;
}
