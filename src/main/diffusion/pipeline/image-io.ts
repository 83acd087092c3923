import sharp from 'sharp';
import { AppError } from '../../../shared/errors';

/** Conversions between decoded VAE output, 8-bit RGB and PNG (through sharp). */

/** Raw decoder output [3, H, W] (≈[-1, 1]) → clamp(x/2 + 0.5, 0, 1), NHWC, as float. */
export function decodedToUnit(decoded: Float32Array, height: number, width: number): Float32Array {
  const plane = height * width;
  const out = new Float32Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) out[p * 3 + c] = Math.min(1, Math.max(0, decoded[c * plane + p] / 2 + 0.5));
  }
  return out;
}

export function unitToUint8(unit: Float32Array): Uint8Array {
  const out = new Uint8Array(unit.length);
  for (let i = 0; i < unit.length; i++) out[i] = Math.round(unit[i] * 255);
  return out;
}

export async function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** Reads an image file or buffer as NCHW float RGB in [0, 1], resized to width × height when given. */
export async function readImageRgb(input: string | Buffer, size?: { width: number; height: number }): Promise<{ data: Float32Array; width: number; height: number }> {
  let img = sharp(input).removeAlpha().toColourspace('srgb');
  if (size) img = img.resize(size.width, size.height, { fit: 'cover' });
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new AppError('diffusion.image_invalid', `${typeof input === 'string' ? input : 'image'}: cannot read (${(err as Error).message})`);
  }
  const { width, height, channels } = raw.info;
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) data[c * plane + p] = raw.data[p * channels + c] / 255;
  return { data, width, height };
}
