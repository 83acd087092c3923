import type Database from 'better-sqlite3';

/**
 * Queries of the import area. A story_js import records the sha256 of its content in the film's
 * generation JSON (`sourceSha256`), so a second import of the same content can be recognised.
 */

/** Films whose import recorded this content hash, oldest first. */
export function filmsImportedFrom(db: Database.Database, sourceSha256: string): { id: number; title: string }[] {
  return db.prepare<[string], { id: number; title: string }>(
    `SELECT id, title FROM film WHERE json_extract(generation_json, '$.sourceSha256') = ? ORDER BY id`,
  ).all(sourceSha256);
}
