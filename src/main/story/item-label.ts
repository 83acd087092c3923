import type Database from 'better-sqlite3';
import type { ItemRef } from '../../shared/api/entities';
import { FRAMES_WITH_OUTLINE, SUBCHAPTERS_WITH_OUTLINE } from './outline-joins';

/**
 * The labels a curator sees for story items — "1.1.1" for the first frame of the first subchapter of the
 * first chapter (the storyboard's numbering, counted from the order of positions, so gaps left by deletes
 * do not show) — used in undo labels instead of database ids.
 */

const FRAME_LABEL = `SELECT
  (SELECT count(*) FROM chapter c2 WHERE c2.film_id = c.film_id AND c2.position <= c.position) AS ch,
  (SELECT count(*) FROM subchapter s2 WHERE s2.chapter_id = s.chapter_id AND s2.position <= s.position) AS sub,
  (SELECT count(*) FROM frame f2 WHERE f2.subchapter_id = fr.subchapter_id AND f2.position <= fr.position) AS fr
  FROM ${FRAMES_WITH_OUTLINE} WHERE fr.id = ?`;

const SUBCHAPTER_LABEL = `SELECT
  (SELECT count(*) FROM chapter c2 WHERE c2.film_id = c.film_id AND c2.position <= c.position) AS ch,
  (SELECT count(*) FROM subchapter s2 WHERE s2.chapter_id = s.chapter_id AND s2.position <= s.position) AS sub
  FROM ${SUBCHAPTERS_WITH_OUTLINE} WHERE s.id = ?`;

/** "1.1.1" for a frame; `frame <id>` when the frame is gone (a label must never make an edit fail). */
export function frameLabel(db: Database.Database, frameId: number): string {
  const row = db.prepare<[number], { ch: number; sub: number; fr: number }>(FRAME_LABEL).get(frameId);
  return row ? `${row.ch}.${row.sub}.${row.fr}` : `#${frameId}`;
}

/** "1.3" for the third subchapter of the first chapter. */
export function subchapterLabel(db: Database.Database, subchapterId: number): string {
  const row = db.prepare<[number], { ch: number; sub: number }>(SUBCHAPTER_LABEL).get(subchapterId);
  return row ? `${row.ch}.${row.sub}` : `#${subchapterId}`;
}

/** "frame 1.1.1", "line 3 of 1.2", "QA 2 of the film": what undo labels and review messages name. */
export function itemLabel(db: Database.Database, ref: ItemRef): string {
  if (ref.type === 'frame') return `frame ${frameLabel(db, ref.id)}`;
  if (ref.type === 'dialogue') {
    const line = db.prepare<[number], { subchapter_id: number; n: number }>(`SELECT d.subchapter_id,
      (SELECT count(*) FROM dialogue_line d2 WHERE d2.subchapter_id = d.subchapter_id
        AND (d2.after_frame < d.after_frame OR (d2.after_frame = d.after_frame AND (d2.seq < d.seq OR (d2.seq = d.seq AND d2.id <= d.id))))) AS n
      FROM dialogue_line d WHERE d.id = ?`).get(ref.id);
    return line ? `line ${line.n} of ${subchapterLabel(db, line.subchapter_id)}` : `line #${ref.id}`;
  }
  const qa = db.prepare<[number], { scope: string; chapter_id: number | null; subchapter_id: number | null; n: number }>(`SELECT q.scope, q.chapter_id, q.subchapter_id,
    (SELECT count(*) FROM qa_pair q2 WHERE q2.film_id = q.film_id AND q2.scope = q.scope
      AND q2.chapter_id IS q.chapter_id AND q2.subchapter_id IS q.subchapter_id AND q2.position <= q.position) AS n
    FROM qa_pair q WHERE q.id = ?`).get(ref.id);
  if (!qa) return `QA #${ref.id}`;
  if (qa.scope === 'subchapter' && qa.subchapter_id !== null) return `QA ${qa.n} of ${subchapterLabel(db, qa.subchapter_id)}`;
  if (qa.scope === 'chapter' && qa.chapter_id !== null) return `QA ${qa.n} of chapter ${chapterLabel(db, qa.chapter_id)}`;
  return `QA ${qa.n} of the film`;
}

/** "2" for the second chapter of its film. */
export function chapterLabel(db: Database.Database, chapterId: number): string {
  const row = db.prepare<[number], { ch: number }>(`SELECT (SELECT count(*) FROM chapter c2 WHERE c2.film_id = c.film_id AND c2.position <= c.position) AS ch
    FROM chapter c WHERE c.id = ?`).get(chapterId);
  return row ? String(row.ch) : `#${chapterId}`;
}
