import type Database from 'better-sqlite3';
import { mutate } from '../db/mutation';
import { FRAMES_WITH_OUTLINE } from '../story/outline-joins';

/** SQL of the quality area: the film's frames with their keyframes, and the score caches (migration 008). Cache writes run in `mutate` (one transaction per batch). */

export interface QualityFrameRow {
  frameId: number;
  description: string;
  reviewState: 'draft' | 'approved' | 'rejected';
  subchapterId: number;
  chapterId: number;
  chapterPosition: number;
  chapterTitle: string;
  /** The keyframe's image (null: no finished keyframe yet). */
  sha256: string | null;
}

/** Every frame of the film in film order with its current keyframe image. */
export function qualityFrames(db: Database.Database, filmId: number): QualityFrameRow[] {
  return db.prepare<[number], QualityFrameRow>(`SELECT fr.id AS frameId, fr.description, fr.review_state AS reviewState, s.id AS subchapterId,
      c.id AS chapterId, c.position AS chapterPosition, c.title AS chapterTitle,
      (SELECT r.asset_sha256 FROM render r WHERE r.frame_id = fr.id AND r.is_keyframe = 1 AND r.status = 'done'
        AND r.asset_sha256 IS NOT NULL ORDER BY r.id DESC LIMIT 1) AS sha256
    FROM ${FRAMES_WITH_OUTLINE}
    WHERE c.film_id = ? ORDER BY c.position, c.id, s.position, s.id, fr.position, fr.id`).all(filmId);
}

export function filmExists(db: Database.Database, filmId: number): boolean {
  return db.prepare('SELECT 1 FROM film WHERE id = ?').get(filmId) !== undefined;
}

/** Cached embeddings of the given keys under one CLIP model. */
export function getEmbeddings(db: Database.Database, modelHash: string, keys: string[]): Map<string, Float32Array> {
  const stmt = db.prepare<[string, string], Buffer>('SELECT embedding FROM quality_embedding WHERE content_key = ? AND model_hash = ?').pluck();
  const out = new Map<string, Float32Array>();
  for (const key of new Set(keys)) {
    const blob = stmt.get(key, modelHash);
    if (blob) out.set(key, new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength)));
  }
  return out;
}

export function putEmbeddings(db: Database.Database, modelHash: string, entries: [string, Float32Array][]): void {
  mutate(db, () => {
    const stmt = db.prepare('INSERT OR REPLACE INTO quality_embedding (content_key, model_hash, embedding) VALUES (?, ?, ?)');
    for (const [key, e] of entries) stmt.run(key, modelHash, Buffer.from(e.buffer, e.byteOffset, e.byteLength));
  });
}

const pairKey = (a: string, b: string) => `${a}|${b}`;

export function getLpips(db: Database.Database, modelKey: string, pairs: [string, string][]): Map<string, number> {
  const stmt = db.prepare<[string, string, string], number>('SELECT distance FROM quality_lpips WHERE sha_a = ? AND sha_b = ? AND model_key = ?').pluck();
  const out = new Map<string, number>();
  for (const [a, b] of pairs) {
    const d = stmt.get(a, b, modelKey);
    if (d !== undefined) out.set(pairKey(a, b), d);
  }
  return out;
}

export function putLpips(db: Database.Database, modelKey: string, entries: { a: string; b: string; distance: number }[]): void {
  mutate(db, () => {
    const stmt = db.prepare('INSERT OR REPLACE INTO quality_lpips (sha_a, sha_b, model_key, distance) VALUES (?, ?, ?, ?)');
    for (const e of entries) stmt.run(e.a, e.b, modelKey, e.distance);
  });
}

export { pairKey };

export interface QualityScoreRow { clipHash: string; lpipsKey: string | null; computedAt: string; summaryJson: string }

export function getQualityScore(db: Database.Database, filmId: number): QualityScoreRow | null {
  return db.prepare<[number], QualityScoreRow>(`SELECT clip_hash AS clipHash, lpips_key AS lpipsKey, computed_at AS computedAt,
    summary_json AS summaryJson FROM quality_score WHERE film_id = ?`).get(filmId) ?? null;
}

export function putQualityScore(db: Database.Database, filmId: number, clipHash: string, lpipsKey: string | null, summary: unknown): void {
  mutate(db, () => db.prepare(`INSERT INTO quality_score (film_id, clip_hash, lpips_key, summary_json) VALUES (?, ?, ?, ?)
    ON CONFLICT (film_id) DO UPDATE SET clip_hash = excluded.clip_hash, lpips_key = excluded.lpips_key,
      summary_json = excluded.summary_json, computed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`)
    .run(filmId, clipHash, lpipsKey, JSON.stringify(summary)));
}
