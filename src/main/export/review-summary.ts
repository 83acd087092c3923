import type Database from 'better-sqlite3';
import type { ExportManifest } from '../../shared/api/methods-export';
import { itemLabel } from '../story/item-label';
import { rejectedItems } from './repo';

type ReviewSummary = NonNullable<ExportManifest['review']>;

/**
 * The curation behind an export, for its manifest: how many items of the exported films were rejected, per
 * reason, and each rejection with its reason and note (labels as the storyboard numbers items). Rejected items
 * never go out; this says why they did not.
 */
export function reviewSummary(db: Database.Database, filmIds: readonly number[]): ReviewSummary {
  const byReason: Record<string, number> = {};
  const rejected: ReviewSummary['rejected'] = [];
  for (const filmId of filmIds) {
    for (const r of rejectedItems(db, filmId)) {
      const key = r.reason ?? '(no reason)';
      byReason[key] = (byReason[key] ?? 0) + 1;
      rejected.push({ filmId, item: itemLabel(db, { type: r.type, id: r.id }), reason: r.reason, note: r.note });
    }
  }
  return { rejectedByReason: byReason, rejected };
}
