import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { AppError } from '../../shared/errors';

/**
 * Style-image preprocessing as the DreamFrame release does it (dreamframe-method.md §6): per-channel
 * autocontrast, resize to the training resolution with a Lanczos filter ignoring the aspect ratio, scale to
 * [-1, 1], and add a horizontally flipped copy of every image. Output is CHW float32, ready for the VAE encoder.
 */

export const STYLE_IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export interface TrainingSize {
  width: number;
  height: number;
}

/** One preprocessed training image: [3, height, width] in [-1, 1]. */
export interface PreparedImage {
  source: string;
  flipped: boolean;
  width: number;
  height: number;
  chw: Float32Array;
}

export interface UnreadableImage {
  path: string;
  reason: string;
}

/** Every JPEG/PNG/WebP under `dir` (recursive, sorted), and the ones sharp cannot decode, with the reason. */
export async function findStyleImages(dir: string): Promise<{ images: string[]; unreadable: UnreadableImage[] }> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    throw new AppError('style.images_unreadable', `cannot read the image folder ${dir}: ${(err as Error).message}`);
  }
  const candidates = entries
    .filter((e) => e.isFile() && STYLE_IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  const images: string[] = [];
  const unreadable: UnreadableImage[] = [];
  for (const path of candidates) {
    try {
      const meta = await sharp(path).metadata();
      if (!meta.width || !meta.height) throw new Error('no image size');
      if (!['jpeg', 'png', 'webp'].includes(meta.format ?? '')) throw new Error(`content is ${meta.format}, not JPEG/PNG/WebP`);
      images.push(path);
    } catch (err) {
      unreadable.push({ path, reason: (err as Error).message });
    }
  }
  return { images, unreadable };
}

/** Like findStyleImages, but an empty folder or any unreadable file is an error naming the files. */
export async function listStyleImages(dir: string): Promise<string[]> {
  const { images, unreadable } = await findStyleImages(dir);
  if (unreadable.length > 0) {
    throw new AppError(
      'style.image_unreadable',
      `${unreadable.length} file(s) in ${dir} are not readable JPEG/PNG/WebP images: ` +
        unreadable.map((u) => `${u.path} (${u.reason})`).join('; '),
      { unreadable },
    );
  }
  if (images.length === 0) {
    throw new AppError('style.no_images', `no JPEG/PNG/WebP images found under ${dir}`);
  }
  return images;
}

/**
 * Per-channel autocontrast of interleaved 8-bit pixels, in place: each channel's [min, max] is stretched to
 * [0, 255] with the lookup PIL's ImageOps.autocontrast (cutoff 0) builds, which torchvision's
 * RandomAutocontrast uses for PIL images. A constant channel is left unchanged.
 */
export function autocontrastInPlace(pixels: Uint8Array, channels: number): void {
  for (let c = 0; c < channels; c++) {
    let lo = 255;
    let hi = 0;
    for (let i = c; i < pixels.length; i += channels) {
      if (pixels[i] < lo) lo = pixels[i];
      if (pixels[i] > hi) hi = pixels[i];
    }
    if (hi <= lo) continue;
    const scale = 255 / (hi - lo);
    const offset = -lo * scale;
    const lut = new Uint8Array(256);
    for (let v = 0; v < 256; v++) lut[v] = Math.min(255, Math.max(0, Math.trunc(v * scale + offset)));
    for (let i = c; i < pixels.length; i += channels) pixels[i] = lut[pixels[i]];
  }
}

async function decodeRgb(path: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  try {
    // No EXIF auto-rotation: the release loads with PIL, which does not rotate either.
    const { data, info } = await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (err) {
    throw new AppError('style.image_unreadable', `${path}: not a readable JPEG/PNG/WebP image (${(err as Error).message})`);
  }
}

/** Interleaved RGB bytes → CHW float32 in [-1, 1] (ToTensor then Normalize(0.5, 0.5)); optionally mirrored. */
function toChw(rgb: Uint8Array, width: number, height: number, flip: boolean): Float32Array {
  const out = new Float32Array(3 * width * height);
  const plane = width * height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = 3 * (y * width + (flip ? width - 1 - x : x));
      const dst = y * width + x;
      for (let c = 0; c < 3; c++) out[c * plane + dst] = rgb[src + c] / 127.5 - 1;
    }
  }
  return out;
}

/** Autocontrast + Lanczos resize (aspect not kept) of one file, as interleaved RGB bytes at `size`. */
export async function loadStyleImageRgb(path: string, size: TrainingSize): Promise<Uint8Array> {
  const { data, width, height } = await decodeRgb(path);
  autocontrastInPlace(data, 3);
  const resized = await sharp(data, { raw: { width, height, channels: 3 } })
    .resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return new Uint8Array(resized.buffer, resized.byteOffset, resized.length);
}

/** Preprocesses images in order, each followed by its mirrored copy when `flip` (default true). */
export async function prepareStyleImages(
  paths: string[],
  size: TrainingSize,
  options: { flip?: boolean } = {},
): Promise<PreparedImage[]> {
  const flip = options.flip ?? true;
  const out: PreparedImage[] = [];
  for (const source of paths) {
    const rgb = await loadStyleImageRgb(source, size);
    out.push({ source, flipped: false, ...size, chw: toChw(rgb, size.width, size.height, false) });
    if (flip) out.push({ source, flipped: true, ...size, chw: toChw(rgb, size.width, size.height, true) });
  }
  return out;
}
