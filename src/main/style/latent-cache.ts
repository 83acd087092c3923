import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { writeFileAtomic } from '../util/atomic-write';
import type { PreparedImage } from './preprocess';

/**
 * Training latents: every preprocessed style image is VAE-encoded once (posterior mean × scaling factor, as the
 * release does) and the result is cached in a folder (the project's cache), keyed by the VAE, the training size
 * and the images' paths, sizes and modification times. Format: uint32 LE header length, JSON header, float32 LE data.
 */

/** The VAE-encoder surface needed (the diffusion module's VaeEncoderModel satisfies it). */
export interface LatentEncoder {
  encode(image: Float32Array, dims: readonly number[]): Promise<{ mean: Float32Array; dims: number[] }>;
}

export interface StyleLatents {
  /** One [1, C, h, w] latent per prepared image (originals and mirrored copies). */
  latents: Float32Array[];
  dims: number[];
  sources: { source: string; flipped: boolean }[];
}

interface CacheHeader {
  version: 1;
  key: string;
  dims: number[];
  sources: { source: string; flipped: boolean }[];
}

/** Encodes prepared images one at a time (batch 1 keeps memory flat at full size). */
export async function encodeStyleLatents(encoder: LatentEncoder, images: PreparedImage[], scalingFactor: number): Promise<StyleLatents> {
  const latents: Float32Array[] = [];
  let dims: number[] = [];
  for (const img of images) {
    const out = await encoder.encode(img.chw, [1, 3, img.height, img.width]);
    dims = out.dims;
    latents.push(Float32Array.from(out.mean, (x) => x * scalingFactor));
  }
  return { latents, dims, sources: images.map((i) => ({ source: i.source, flipped: i.flipped })) };
}

/** Cache key over what determines the latents; `vaeId` identifies the VAE encoder (e.g. its content hash). */
export function latentCacheKey(vaeId: string, size: { width: number; height: number }, imagePaths: string[], flip: boolean, scalingFactor: number): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 1, vaeId, size, flip, scalingFactor }));
  for (const p of imagePaths) {
    const st = statSync(p);
    h.update(`\n${p}\t${st.size}\t${st.mtimeMs}`);
  }
  return h.digest('hex').slice(0, 32);
}

export function latentCachePath(cacheDir: string, key: string): string {
  return join(cacheDir, 'style-latents', `${key}.bin`);
}

export function saveStyleLatents(path: string, key: string, data: StyleLatents): void {
  const header: CacheHeader = { version: 1, key, dims: data.dims, sources: data.sources };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const per = data.latents[0]?.length ?? 0;
  const out = Buffer.alloc(4 + json.length + data.latents.length * per * 4);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  let pos = 4 + json.length;
  for (const l of data.latents) for (let i = 0; i < l.length; i++, pos += 4) out.writeFloatLE(l[i], pos);
  writeFileAtomic(path, out);
}

/** Reads a cache file; null when absent or written for another key. */
export function loadStyleLatents(path: string, key: string): StyleLatents | null {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return null;
  }
  try {
    const len = buf.readUInt32LE(0);
    const header = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as CacheHeader;
    if (header.version !== 1 || header.key !== key) return null;
    const per = header.dims.slice(1).reduce((a, b) => a * b, 1);
    const count = header.sources.length;
    if (buf.length !== 4 + len + count * per * 4) throw new Error(`size ${buf.length} does not fit ${count} latents`);
    const latents: Float32Array[] = [];
    let pos = 4 + len;
    for (let k = 0; k < count; k++) {
      const l = new Float32Array(per);
      for (let i = 0; i < per; i++, pos += 4) l[i] = buf.readFloatLE(pos);
      latents.push(l);
    }
    return { latents, dims: header.dims, sources: header.sources };
  } catch (err) {
    throw new AppError('style.latent_cache_invalid', `${path}: damaged latent cache (${(err as Error).message}); delete it to re-encode`);
  }
}
