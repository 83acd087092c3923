import type Database from 'better-sqlite3';
import { join } from 'node:path';
import type { EmbeddingInfo, StyleImageInfo } from '../../shared/api/methods-style';
import { mutate } from '../db/mutation';

/**
 * The style area's rows: `style` (one per film, its keyword and last learning settings), `style_image`
 * (content-addressed images, excluded ones kept with included = 0) and `embedding` (files under the
 * project's assets). Typed rows and their mappers; the files themselves are style-service's.
 */

export interface FilmStyleRow { id: number; style_keyword: string; style_description: string; locations_json: string }

export function filmStyleRow(db: Database.Database, filmId: number): FilmStyleRow | undefined {
  return db.prepare<unknown[], FilmStyleRow>('SELECT id, style_keyword, style_description, locations_json FROM film WHERE id = ?').get(filmId);
}

export function findStyleId(db: Database.Database, filmId: number): number | null {
  return db.prepare<unknown[], { id: number }>('SELECT id FROM style WHERE film_id = ? ORDER BY id LIMIT 1').get(filmId)?.id ?? null;
}

/** Keeps a style's keyword equal to its film's (the film's keyword may have been edited). */
export function syncStyleKeyword(db: Database.Database, styleId: number, keyword: string): void {
  mutate(db, () => db.prepare('UPDATE style SET keyword = ? WHERE id = ? AND keyword <> ?').run(keyword, styleId, keyword));
}

export function insertStyle(db: Database.Database, filmId: number, keyword: string): number {
  return mutate(db, () => Number(db.prepare('INSERT INTO style (film_id, keyword) VALUES (?, ?)').run(filmId, keyword).lastInsertRowid));
}

export function styleSettings(db: Database.Database, styleId: number): Record<string, unknown> | null {
  const row = db.prepare<unknown[], { settings_json: string }>('SELECT settings_json FROM style WHERE id = ?').get(styleId);
  return row ? (JSON.parse(row.settings_json) as Record<string, unknown>) : null;
}

export function setStyleSettings(db: Database.Database, styleId: number, settings: Record<string, unknown>): void {
  mutate(db, () => db.prepare('UPDATE style SET settings_json = ? WHERE id = ?').run(JSON.stringify(settings), styleId));
}

interface ImageRow {
  id: number; asset_sha256: string; source: 'generated' | 'imported'; position: number; included: number; width: number | null; height: number | null;
}

function imageFromRow(r: ImageRow): StyleImageInfo {
  return {
    id: r.id, sha256: r.asset_sha256, mediaKey: `asset/${r.asset_sha256}`, source: r.source, position: r.position,
    included: r.included === 1, width: r.width, height: r.height,
  };
}

export function listStyleImages(db: Database.Database, styleId: number): StyleImageInfo[] {
  return db.prepare<unknown[], ImageRow>(`SELECT si.id, si.asset_sha256, si.source, si.position, si.included, a.width, a.height
    FROM style_image si JOIN asset a ON a.sha256 = si.asset_sha256 WHERE si.style_id = ? ORDER BY si.position, si.id`)
    .all(styleId).map(imageFromRow);
}

/** Adds a stored image to a style at the end; an image already in the style keeps its row. */
export function insertStyleImage(db: Database.Database, styleId: number, sha256: string, source: ImageRow['source']):
  { added: boolean; id: number } {
  return mutate(db, () => {
    const existing = db.prepare<unknown[], { id: number }>('SELECT id FROM style_image WHERE style_id = ? AND asset_sha256 = ?')
      .get(styleId, sha256);
    if (existing) return { added: false, id: existing.id };
    const next = db.prepare<unknown[], { p: number }>('SELECT coalesce(max(position) + 1, 0) AS p FROM style_image WHERE style_id = ?')
      .get(styleId)!.p;
    const id = Number(db.prepare('INSERT INTO style_image (style_id, asset_sha256, source, position) VALUES (?, ?, ?, ?)')
      .run(styleId, sha256, source, next).lastInsertRowid);
    return { added: true, id };
  });
}

/** The style and film an image belongs to (undefined for an unknown image). */
export function styleImageOwner(db: Database.Database, imageId: number): { styleId: number; filmId: number } | undefined {
  return db.prepare<unknown[], { styleId: number; filmId: number }>(
    'SELECT si.style_id AS styleId, s.film_id AS filmId FROM style_image si JOIN style s ON s.id = si.style_id WHERE si.id = ?').get(imageId);
}

export function setImageIncluded(db: Database.Database, imageId: number, included: boolean): void {
  mutate(db, () => db.prepare('UPDATE style_image SET included = ? WHERE id = ?').run(included ? 1 : 0, imageId));
}

/** Asset-relative paths of the images training uses, in order. */
export function includedImageRelPaths(db: Database.Database, styleId: number): string[] {
  return db.prepare<unknown[], { rel_path: string }>(`SELECT a.rel_path FROM style_image si JOIN asset a ON a.sha256 = si.asset_sha256
    WHERE si.style_id = ? AND si.included = 1 ORDER BY si.position, si.id`).all(styleId).map((r) => r.rel_path);
}

interface EmbeddingRow { id: number; rel_path: string; family: string; steps: number; loss: number | null; active: number; created_at: string }

/** An embedding row as the API shows it; `assetsDir` makes its file absolute. */
function embeddingFromRow(assetsDir: string, r: EmbeddingRow): EmbeddingInfo {
  return {
    id: r.id, file: join(assetsDir, r.rel_path), family: r.family, steps: r.steps, loss: r.loss,
    active: r.active === 1, createdAt: r.created_at,
  };
}

export function listEmbeddings(db: Database.Database, assetsDir: string, styleId: number): EmbeddingInfo[] {
  return db.prepare<unknown[], EmbeddingRow>('SELECT * FROM embedding WHERE style_id = ? ORDER BY id').all(styleId)
    .map((r) => embeddingFromRow(assetsDir, r));
}

/** One embedding of a style (undefined when the id is unknown or belongs to another style). */
export function getEmbedding(db: Database.Database, assetsDir: string, styleId: number, embeddingId: number): EmbeddingInfo | undefined {
  const row = db.prepare<unknown[], EmbeddingRow>('SELECT * FROM embedding WHERE id = ? AND style_id = ?').get(embeddingId, styleId);
  return row && embeddingFromRow(assetsDir, row);
}

/** Asset-relative paths of every embedding file of the project (all styles), to recognise a moved project's old paths. */
export function allEmbeddingRelPaths(db: Database.Database): string[] {
  return db.prepare<[], { rel_path: string }>('SELECT rel_path FROM embedding').all().map((r) => r.rel_path);
}

export function countEmbeddings(db: Database.Database, styleId: number): number {
  return db.prepare<unknown[], { n: number }>('SELECT count(*) AS n FROM embedding WHERE style_id = ?').get(styleId)!.n;
}

export interface NewEmbedding { relPath: string; family: string; steps: number; loss: number | null }

export function insertEmbedding(db: Database.Database, assetsDir: string, styleId: number, e: NewEmbedding): EmbeddingInfo {
  return mutate(db, () => {
    const id = Number(db.prepare('INSERT INTO embedding (style_id, rel_path, family, steps, loss) VALUES (?, ?, ?, ?, ?)')
      .run(styleId, e.relPath, e.family, e.steps, e.loss).lastInsertRowid);
    return getEmbedding(db, assetsDir, styleId, id)!;
  });
}

/** Makes one embedding of a style the active one (null: none). */
export function activateEmbedding(db: Database.Database, styleId: number, embeddingId: number | null): void {
  mutate(db, () => db.prepare('UPDATE embedding SET active = (id = ?) WHERE style_id = ?').run(embeddingId ?? -1, styleId));
}
