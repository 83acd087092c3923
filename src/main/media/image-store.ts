import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { AppError } from '../../shared/errors';
import type { Project } from '../project/project';
import { writeFileAtomic } from '../util/atomic-write';
import { assetFile, insertAsset, storedAsset } from './repo';

/**
 * Content-addressed image files: assets/images/<first 2 hex>/<sha256>.<ext>, one `asset` row each.
 * Storing the same bytes twice costs nothing; a row is only written after its file is durable.
 */

export interface StoredImage { sha256: string; relPath: string; width: number | null; height: number | null }

const EXT: Record<string, string> = { 'image/png': 'png', 'image/webp': 'webp', 'image/jpeg': 'jpg' };

export function imageRelPath(sha256: string, mime: string): string {
  return `images/${sha256.slice(0, 2)}/${sha256}.${EXT[mime] ?? 'bin'}`;
}

export async function storeImage(project: Project, bytes: Buffer, mime = 'image/png'): Promise<StoredImage> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const existing = storedAsset(project.db, sha256);
  if (existing && existsSync(join(project.assetsDir, existing.rel_path))) {
    return { sha256, relPath: existing.rel_path, width: existing.width, height: existing.height };
  }
  const relPath = existing?.rel_path ?? imageRelPath(sha256, mime);
  const meta = await sharp(bytes).metadata();
  writeFileAtomic(join(project.assetsDir, relPath), bytes);
  insertAsset(project.db, { sha256, relPath, mime, bytes: bytes.length, width: meta.width ?? null, height: meta.height ?? null });
  return { sha256, relPath, width: meta.width ?? null, height: meta.height ?? null };
}

export function readStoredImage(project: Project, sha256: string): Buffer {
  const row = assetFile(project.db, sha256);
  if (!row) throw new AppError('not_found', `No asset ${sha256}`, { sha256 });
  return readFileSync(join(project.assetsDir, row.rel_path));
}
