import { join } from 'node:path';
import sharp from 'sharp';
import { AppError } from '../../shared/errors';
import type { Project } from '../project/project';
import { writeFileAtomic } from '../util/atomic-write';
import { readAssetFile, readAssetFileIfPresent } from './asset-file';
import { placeholderCard } from './placeholder-card';
import { assetFile, frameMedia } from './repo';

export type MediaVariant = 'thumb' | 'full';
export interface MediaFile { bytes: Buffer; mime: string }

const THUMB_WIDTH = 384;
const inFlight = new Map<string, Promise<Buffer>>();

/**
 * Generates a derived file once, caching it under assets/cache and sharing concurrent requests. A cache entry that
 * is not a regular file inside assets/ (a planted symlink) is never read; it is made again and replaced.
 */
async function cached(assetsDir: string, cacheName: string, make: () => Promise<Buffer>): Promise<Buffer> {
  const hit = readAssetFileIfPresent(assetsDir, join('cache', cacheName));
  if (hit) return hit;
  const file = join(assetsDir, 'cache', cacheName);
  let pending = inFlight.get(file);
  if (!pending) {
    pending = make().then((bytes) => {
      writeFileAtomic(file, bytes);
      return bytes;
    }).finally(() => inFlight.delete(file));
    inFlight.set(file, pending);
  }
  return pending;
}

/** "asset/<sha256>": any stored image (style images, training previews), full size or as a thumbnail. */
async function readAssetMedia(project: Project, variant: MediaVariant, sha256: string): Promise<MediaFile> {
  const row = assetFile(project.db, sha256);
  if (!row) throw new AppError('not_found', `No asset ${sha256}`, { sha256 });
  const source = readAssetFile(project.assetsDir, row.rel_path);
  if (variant === 'full') return { bytes: source, mime: row.mime };
  const bytes = await cached(project.assetsDir, `${sha256}-${THUMB_WIDTH}.webp`, () =>
    sharp(source).resize({ width: THUMB_WIDTH, withoutEnlargement: true, fit: 'inside' }).webp({ quality: 82 }).toBuffer());
  return { bytes, mime: 'image/webp' };
}

/**
 * Resolves a media key from the API contract ("frame/<id>", "asset/<sha256>") to image bytes: the frame's keyframe
 * render (thumbnail or full size) or, before any render, a generated "not rendered yet" card.
 */
export async function readMedia(project: Project, variant: MediaVariant, key: string): Promise<MediaFile> {
  const asset = /^asset\/([0-9a-f]{64})$/.exec(key.split('?')[0]);
  if (asset) return readAssetMedia(project, variant, asset[1]);
  const m = /^frame\/(\d+)$/.exec(key.split('?')[0]);
  if (!m) throw new AppError('not_found', `Unknown media key ${JSON.stringify(key)}`, { key });
  const frameId = Number(m[1]);
  const row = frameMedia(project.db, frameId);
  if (!row) throw new AppError('not_found', `No frame with id ${frameId}`, { frameId });

  if (row.asset_sha256 && row.rel_path) {
    const source = readAssetFile(project.assetsDir, row.rel_path);
    if (variant === 'full') return { bytes: source, mime: row.mime ?? 'image/png' };
    const bytes = await cached(project.assetsDir, `${row.asset_sha256}-${THUMB_WIDTH}.webp`, () =>
      sharp(source).resize({ width: THUMB_WIDTH, withoutEnlargement: true, fit: 'inside' }).webp({ quality: 82 }).toBuffer());
    return { bytes, mime: 'image/webp' };
  }

  const label = `Frame ${row.chapter_position + 1}.${row.sub_position + 1}.${row.position + 1}`;
  const width = variant === 'thumb' ? THUMB_WIDTH : 640;
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha1').update(`${label}\n${row.scene}\n${row.description}\n${width}`).digest('hex');
  const bytes = await cached(project.assetsDir, `card-${hash}.webp`, () =>
    placeholderCard({ label, scene: row.scene, description: row.description }, width));
  return { bytes, mime: 'image/webp' };
}
