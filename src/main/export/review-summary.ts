import type Database from 'better-sqlite3';
import type { ExportManifest } from '../../shared/api/methods-export';
import { itemLabel } from '../story/item-label';
import { FRAMES_WITH_OUTLINE, LINES_WITH_OUTLINE } from '../story/outline-joins';

type ReviewSummary = NonNullable<ExportManifest['review']>;

/**
 * The curation behind an export, for its manifest: how many items of the exported films were rejected, per
 * reason, and each rejection with its reason and note (labels as the storyboard numbers items). Rejected items
 * never go out; this says why they did not.
 */
export function reviewSummary(db: Database.Database, filmIds: readonly number[]): ReviewSummary {
  const rows = db.prepare<{ filmId: number }, { type: 'frame' | 'dialogue' | 'qa'; id: number; reason: string | null; note: string | null }>(`
    SELECT 'frame' AS type, fr.id, fr.review_reason AS reason, fr.review_note AS note, c.position AS p1, s.position AS p2, fr.position AS p3
      FROM ${FRAMES_WITH_OUTLINE}
      WHERE c.film_id = @filmId AND fr.review_state = 'rejected'
    UNION ALL
    SELECT 'dialogue', d.id, d.review_reason, d.review_note, c.position, s.position, d.after_frame
      FROM ${LINES_WITH_OUTLINE}
      WHERE c.film_id = @filmId AND d.review_state = 'rejected'
    UNION ALL
    SELECT 'qa', q.id, q.review_reason, q.review_note, -1, -1, q.position FROM qa_pair q WHERE q.film_id = @filmId AND q.review_state = 'rejected'
    ORDER BY 5, 6, 7, 1, 2`);
  const byReason: Record<string, number> = {};
  const rejected: ReviewSummary['rejected'] = [];
  for (const filmId of filmIds) {
    for (const r of rows.all({ filmId })) {
      const key = r.reason ?? '(no reason)';
      byReason[key] = (byReason[key] ?? 0) + 1;
      rejected.push({ filmId, item: itemLabel(db, { type: r.type, id: r.id }), reason: r.reason, note: r.note });
    }
  }
  return { rejectedByReason: byReason, rejected };
}
