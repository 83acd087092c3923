import type Database from 'better-sqlite3';
import type { ItemRef, ReviewState } from '../../shared/api/entities';
import {
  assertEditable, readValues, reapplyNextEdit, revertLastEdit, touchedEntities, type EditRecord, type Table, type Values,
} from '../db/edit-log';
import { mutate } from '../db/mutation';
import { hasFinishedRender } from '../render/render-repo';
import { filmIdOf } from './film-reader';
import { chapterLabel, itemLabel, subchapterLabel } from './item-label';

/** Curator edits of story items: field edits, review state, undo/redo (all through the edit log). */

const TABLE_OF: Record<ItemRef['type'], Table> = { frame: 'frame', dialogue: 'dialogue_line', qa: 'qa_pair' };

/** The fields an approval vouches for: changing one returns an approved item to review. */
const CONTENT_FIELDS: Record<ItemRef['type'], readonly string[]> = {
  frame: ['description', 'scene'], dialogue: ['text', 'speaker'], qa: ['question', 'answer'],
};

export interface FieldEdit {
  type: ItemRef['type'];
  id: number;
  values: Values;
  label: string;
}

/**
 * Updates fields of one item. A frame whose description changes while it has a render turns stale; an approved
 * item whose text changes returns to draft (Undo restores both).
 */
export function editItem(db: Database.Database, edit: FieldEdit): number {
  const table = TABLE_OF[edit.type];
  return mutate(db, (m) => {
    const filmId = filmIdOf(db, edit.type, edit.id);
    const after: Values = { ...edit.values };
    if (edit.type === 'frame' && 'description' in after) {
      const rendered = hasFinishedRender(db, edit.id);
      const current = readValues(db, 'frame', edit.id, ['description']);
      if (rendered && current.description !== after.description) after.stale = 1;
    }
    // An approval is for the text the curator saw: changed text goes back to review in the same undoable edit.
    const content = CONTENT_FIELDS[edit.type].filter((col) => col in after);
    if (content.length > 0 && !('review_state' in after)) {
      const current = readValues(db, table, edit.id, ['review_state', ...content]);
      if (current.review_state === 'approved' && content.some((col) => current[col] !== after[col])) after.review_state = 'draft';
    }
    assertEditable(table, after);
    const before = readValues(db, table, edit.id, Object.keys(after));
    m.edit(filmId, edit.label, [{ table, id: edit.id, before, after }]);
    m.touch(filmId, { type: edit.type, ids: [edit.id] });
    return filmId;
  });
}

export type OutlineType = 'chapter' | 'subchapter';

/** Edits the title, scene or summary of a chapter or subchapter as an undoable edit. */
export function editOutline(db: Database.Database, type: OutlineType, id: number, values: Values): number {
  return mutate(db, (m) => {
    const filmId = filmIdOf(db, type, id);
    assertEditable(type, values);
    if (Object.keys(values).length > 0) {
      const before = readValues(db, type, id, Object.keys(values));
      m.edit(filmId, `Edit ${type} ${type === 'chapter' ? chapterLabel(db, id) : subchapterLabel(db, id)}`, [{ table: type, id, before, after: values }]);
    }
    m.touch(filmId, { type, ids: [id] });
    return filmId;
  });
}

/** Sets the review state (and note) of many items at once: one statement per table, one undo step. */
export function setReview(db: Database.Database, items: ItemRef[], state: ReviewState, note: string | null, reason: string | null = null):
  { updated: number; byFilm: Map<number, ItemRef[]> } {
  const keptReason = state === 'rejected' ? reason : null;
  return mutate(db, (m) => {
    const byFilm = new Map<number, ItemRef[]>();
    for (const item of items) {
      const filmId = filmIdOf(db, item.type, item.id);
      const list = byFilm.get(filmId) ?? [];
      list.push(item);
      byFilm.set(filmId, list);
    }
    const now = new Date().toISOString();
    let updated = 0;
    for (const [filmId, refs] of byFilm) {
      const changes = refs.map((ref) => {
        const table = TABLE_OF[ref.type];
        const before = readValues(db, table, ref.id, ['review_state', 'review_note', 'review_reason', 'reviewed_at']);
        return { table, id: ref.id, before, after: { review_state: state, review_note: note, review_reason: keptReason, reviewed_at: now } };
      });
      const verb = state === 'approved' ? 'Approve' : state === 'rejected' ? 'Reject' : 'Reset';
      const label = `${verb} ${refs.length === 1 ? itemLabel(db, refs[0]) : `${refs.length} items`}`;
      m.edit(filmId, label, changes);
      for (const type of ['frame', 'dialogue', 'qa'] as const) {
        const ids = refs.filter((r) => r.type === type).map((r) => r.id);
        if (ids.length > 0) m.touch(filmId, { type, ids });
      }
      updated += refs.length;
    }
    return { updated, byFilm };
  });
}

/** Reverts the newest edit of a film that is not undone yet. */
export function undo(db: Database.Database, filmId: number): EditRecord | null {
  return mutate(db, (m) => {
    const rec = revertLastEdit(db, filmId);
    if (rec) m.touch(filmId, ...touchedEntities(rec.changes));
    return rec;
  });
}

/** Re-applies the oldest undone edit of a film. */
export function redo(db: Database.Database, filmId: number): EditRecord | null {
  return mutate(db, (m) => {
    const rec = reapplyNextEdit(db, filmId);
    if (rec) m.touch(filmId, ...touchedEntities(rec.changes));
    return rec;
  });
}
