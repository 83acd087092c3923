import type Database from 'better-sqlite3';
import { mutate } from '../db/mutation';
import { FRAMES_WITH_OUTLINE } from '../story/outline-joins';

/**
 * The media area's rows: `asset` rows (content-addressed files under the project's assets) and what a
 * frame's picture is made from (its keyframe's asset, or the text of its "not rendered yet" card).
 */

export interface AssetFileRow { rel_path: string; mime: string }

/** Where a stored asset's file lies and its type (undefined for an unknown hash). */
export function assetFile(db: Database.Database, sha256: string): AssetFileRow | undefined {
  return db.prepare<[string], AssetFileRow>('SELECT rel_path, mime FROM asset WHERE sha256 = ?').get(sha256);
}

/** A frame's place in the story, its text, and its newest finished keyframe's asset (nulls before any render). */
export interface FrameMediaRow {
  id: number; position: number; description: string; scene: string;
  sub_position: number; chapter_position: number; asset_sha256: string | null; rel_path: string | null; mime: string | null;
}

export function frameMedia(db: Database.Database, frameId: number): FrameMediaRow | undefined {
  return db.prepare<[number], FrameMediaRow>(`SELECT fr.id, fr.position, fr.description, fr.scene,
      s.position AS sub_position, c.position AS chapter_position, r.asset_sha256, a.rel_path, a.mime
    FROM ${FRAMES_WITH_OUTLINE}
    LEFT JOIN render r ON r.id = (SELECT id FROM render WHERE frame_id = fr.id AND is_keyframe = 1 AND status = 'done'
                                  ORDER BY id DESC LIMIT 1)
    LEFT JOIN asset a ON a.sha256 = r.asset_sha256
    WHERE fr.id = ?`).get(frameId);
}

export interface StoredAssetRow { rel_path: string; width: number | null; height: number | null }

/** The row of an already stored image (undefined for new bytes). */
export function storedAsset(db: Database.Database, sha256: string): StoredAssetRow | undefined {
  return db.prepare<[string], StoredAssetRow>('SELECT rel_path, width, height FROM asset WHERE sha256 = ?').get(sha256);
}

export interface NewAsset { sha256: string; relPath: string; mime: string; bytes: number; width: number | null; height: number | null }

/** Records a stored file (its file already durable); the same hash twice keeps the first row. */
export function insertAsset(db: Database.Database, a: NewAsset): void {
  mutate(db, () => db.prepare(`INSERT INTO asset (sha256, rel_path, mime, bytes, width, height) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (sha256) DO NOTHING`).run(a.sha256, a.relPath, a.mime, a.bytes, a.width, a.height));
}
