import type Database from 'better-sqlite3';
import { readValues } from '../db/edit-log';
import { mutate } from '../db/mutation';
import { filmIdOf } from './film-reader';
import { frameLabel } from './item-label';

/**
 * An approval is for the picture and text the curator saw. When a frame's picture changes (a new keyframe from
 * New seed or Make keyframe) its approval no longer holds: the frame goes back to draft ("needs review") as an
 * undoable edit of its own, so the edit log keeps who approved it when, and Undo restores the approval.
 * (Text edits fold the same change into the edit itself: src/main/story/edits.ts.)
 */

/** Approved frames among `frameIds` return to draft; returns the ids that did. */
export function returnFramesToReview(db: Database.Database, frameIds: readonly number[], why: string): number[] {
  return mutate(db, (m) => {
    const isApproved = db.prepare<[number], { id: number }>("SELECT id FROM frame WHERE id = ? AND review_state = 'approved'");
    const returned: number[] = [];
    for (const frameId of frameIds) {
      if (!isApproved.get(frameId)) continue;
      const filmId = filmIdOf(db, 'frame', frameId);
      const before = readValues(db, 'frame', frameId, ['review_state']);
      m.edit(filmId, `Frame ${frameLabel(db, frameId)} back to review (${why})`,
        [{ table: 'frame', id: frameId, before, after: { review_state: 'draft' } }]);
      m.touch(filmId, { type: 'frame', ids: [frameId] });
      returned.push(frameId);
    }
    return returned;
  });
}
