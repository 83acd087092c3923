import type Database from 'better-sqlite3';
import { FRAMES_WITH_OUTLINE, LINES_WITH_OUTLINE } from '../story/outline-joins';

/** The export area's reads beyond the storyboard: which keyframes go out, and the rejections a manifest lists. */

export interface ExportKeyframe { sha256: string; relPath: string }

interface KeyframeRow { frame_id: number; sha256: string; rel_path: string }

/** Latest finished keyframe render of every frame of a film (the same choice the media service makes), by frame id. */
export function filmKeyframes(db: Database.Database, filmId: number): Map<number, ExportKeyframe> {
  const rows = db.prepare<[number], KeyframeRow>(`SELECT r.frame_id, a.sha256, a.rel_path FROM ${FRAMES_WITH_OUTLINE}
    JOIN render r ON r.frame_id = fr.id JOIN asset a ON a.sha256 = r.asset_sha256
    WHERE c.film_id = ? AND r.is_keyframe = 1 AND r.status = 'done'
      AND r.id = (SELECT max(r2.id) FROM render r2 WHERE r2.frame_id = r.frame_id AND r2.is_keyframe = 1 AND r2.status = 'done')`)
    .all(filmId);
  return new Map(rows.map((r) => [r.frame_id, { sha256: r.sha256, relPath: r.rel_path }]));
}

export interface RejectedRow { type: 'frame' | 'dialogue' | 'qa'; id: number; reason: string | null; note: string | null }

/** A film's rejected frames, lines and QA pairs in story order (QA after the outline). */
export function rejectedItems(db: Database.Database, filmId: number): RejectedRow[] {
  return db.prepare<{ filmId: number }, RejectedRow>(`
    SELECT 'frame' AS type, fr.id, fr.review_reason AS reason, fr.review_note AS note, c.position AS p1, s.position AS p2, fr.position AS p3
      FROM ${FRAMES_WITH_OUTLINE}
      WHERE c.film_id = @filmId AND fr.review_state = 'rejected'
    UNION ALL
    SELECT 'dialogue', d.id, d.review_reason, d.review_note, c.position, s.position, d.after_frame
      FROM ${LINES_WITH_OUTLINE}
      WHERE c.film_id = @filmId AND d.review_state = 'rejected'
    UNION ALL
    SELECT 'qa', q.id, q.review_reason, q.review_note, -1, -1, q.position FROM qa_pair q WHERE q.film_id = @filmId AND q.review_state = 'rejected'
    ORDER BY 5, 6, 7, 1, 2`).all({ filmId });
}
