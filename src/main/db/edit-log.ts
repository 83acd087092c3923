import type Database from 'better-sqlite3';
import { AppError } from '../../shared/errors';
import type { ChangedEntity } from './mutation-types';

/**
 * The edit log: every curator edit is stored as an invertible record in edit_log (the changed
 * columns before and after), written in the same transaction as the edit itself, so undo/redo
 * survive restarts. Edits reach it through `Mutation.edit` (src/main/db/mutation.ts).
 */

export type Table = 'chapter' | 'subchapter' | 'frame' | 'dialogue_line' | 'qa_pair' | 'render';
export type Values = Record<string, string | number | null>;
/**
 * One row's change. Both sides set: an update of those columns. `before` null: the edit inserted
 * the row (`after` is the whole row); `after` null: the edit deleted it (`before` is the whole row).
 */
export interface Change { table: Table; id: number; before: Values | null; after: Values | null }

const EDITABLE: Record<Table, readonly string[]> = {
  // Outline rows: what the next plot level expands.
  chapter: ['title', 'scene', 'summary'],
  subchapter: ['title', 'scene', 'summary'],
  frame: ['description', 'scene', 'stale', 'review_state', 'review_note', 'reviewed_at', 'review_reason'],
  dialogue_line: ['text', 'speaker', 'after_frame', 'seq', 'review_state', 'review_note', 'reviewed_at', 'review_reason'],
  qa_pair: ['question', 'answer', 'kind', 'review_state', 'review_note', 'reviewed_at', 'review_reason'],
  // Renders are only ever inserted or deleted with their frame, never updated by an edit.
  render: [],
};
/** Columns moved by structure edits (insert, delete, reorder); not editable as fields. */
const STRUCTURAL: Record<Table, readonly string[]> = {
  chapter: [], subchapter: [], frame: ['position'], dialogue_line: ['after_frame', 'seq'], qa_pair: ['position'], render: [],
};

/** Refuses columns that are not editable fields of `table`. */
export function assertEditable(table: Table, values: Values): void {
  for (const col of Object.keys(values)) {
    if (!EDITABLE[table].includes(col)) throw new AppError('invalid_field', `${table}.${col} cannot be edited`, { table, col });
  }
}

function applyValues(db: Database.Database, table: Table, id: number, values: Values): void {
  const cols = Object.keys(values);
  if (cols.length === 0) return;
  for (const col of cols) {
    if (!EDITABLE[table].includes(col) && !STRUCTURAL[table].includes(col)) {
      throw new AppError('invalid_field', `${table}.${col} cannot be edited`, { table, col });
    }
  }
  const sql = `UPDATE ${table} SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @__id`;
  db.prepare(sql).run({ ...values, __id: id });
}

const ROW_COLUMN = /^[a-z_][a-z0-9_]*$/;

/** Brings one row to the state of one side of a change: update, re-insert or delete it. */
function applySide(db: Database.Database, c: Change, side: 'before' | 'after'): void {
  const target = c[side];
  const other = side === 'after' ? c.before : c.after;
  if (target === null) {
    db.prepare(`DELETE FROM ${c.table} WHERE id = ?`).run(c.id);
  } else if (other === null) {
    const cols = Object.keys(target);
    for (const col of cols) if (!ROW_COLUMN.test(col)) throw new AppError('invalid_field', `${c.table}.${col} is not a column`);
    // SQLite hands a deleted row's id to the next insert; if that happened since the undo, restoring the row
    // under its old id is impossible, so say so plainly (the transaction leaves everything as it was).
    if (db.prepare(`SELECT 1 FROM ${c.table} WHERE id = ?`).get(c.id)) {
      throw new AppError('edit_conflict', `Cannot restore ${c.table.replace('_', ' ')} ${c.id}: its id has been reused by a newer row since the edit was undone`, { table: c.table, id: c.id });
    }
    db.prepare(`INSERT INTO ${c.table} (id, ${cols.join(', ')}) VALUES (@__id, ${cols.map((k) => `@${k}`).join(', ')})`)
      .run({ ...target, __id: c.id });
  } else {
    applyValues(db, c.table, c.id, target);
  }
}

/** The whole row (without id) as stored, for insert/delete records. */
export function readRow(db: Database.Database, table: Table, id: number): Values {
  const row = db.prepare<unknown[], Values>(`SELECT * FROM ${table} WHERE id = ?`).get(id);
  if (!row) throw new AppError('not_found', `No ${table.replace('_', ' ')} with id ${id}`, { table, id });
  const { id: _id, ...rest } = row;
  return rest;
}

/** Some columns of one row, for the `before` side of an update. */
export function readValues(db: Database.Database, table: Table, id: number, cols: string[]): Values {
  const row = db.prepare<unknown[], Values>(`SELECT ${cols.join(', ')} FROM ${table} WHERE id = ?`).get(id);
  if (!row) throw new AppError('not_found', `No ${table.replace('_', ' ')} with id ${id}`, { table, id });
  return row;
}

/**
 * Records and applies a group of changes as one undoable edit; a new edit discards the redo stack.
 * Returns false when nothing would change (no record is written). Call inside a transaction.
 */
export function commitEdit(db: Database.Database, filmId: number, label: string, changes: Change[]): boolean {
  const effective = changes.filter((c) => c.before === null || c.after === null
    || Object.keys(c.after).some((k) => c.after![k] !== c.before![k]));
  if (effective.length === 0) return false;
  for (const c of effective) applySide(db, c, 'after');
  db.prepare('DELETE FROM edit_log WHERE film_id = ? AND undone = 1').run(filmId);
  db.prepare('INSERT INTO edit_log (film_id, label, changes_json) VALUES (?, ?, ?)')
    .run(filmId, label, JSON.stringify(effective));
  db.prepare("UPDATE film SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?").run(filmId);
  return true;
}

export interface EditRecord { id: number; label: string; at: string; changes: Change[] }

interface EditRow { id: number; label: string; at: string; changes_json: string }

function toRecord(row: EditRow): EditRecord {
  return { id: row.id, label: row.label, at: row.at, changes: JSON.parse(row.changes_json) as Change[] };
}

/** Where undo and redo look: the newest edit still applied, and the oldest one undone. */
const NEXT_EDIT = {
  undo: 'FROM edit_log WHERE film_id = ? AND undone = 0 ORDER BY id DESC LIMIT 1',
  redo: 'FROM edit_log WHERE film_id = ? AND undone = 1 ORDER BY id ASC LIMIT 1',
} as const;

/** Undoes (rows back to `before`, last change first) or redoes (to `after`) the next edit of a film. */
function stepEdit(db: Database.Database, filmId: number, direction: keyof typeof NEXT_EDIT): EditRecord | null {
  const row = db.prepare<unknown[], EditRow>(`SELECT id, label, at, changes_json ${NEXT_EDIT[direction]}`).get(filmId);
  if (!row) return null;
  const rec = toRecord(row);
  const undoing = direction === 'undo';
  for (const c of undoing ? [...rec.changes].reverse() : rec.changes) applySide(db, c, undoing ? 'before' : 'after');
  db.prepare('UPDATE edit_log SET undone = ? WHERE id = ?').run(undoing ? 1 : 0, rec.id);
  return rec;
}

/** Reverts the newest edit of a film that is not undone yet. Call inside a transaction. */
export function revertLastEdit(db: Database.Database, filmId: number): EditRecord | null {
  return stepEdit(db, filmId, 'undo');
}

/** Re-applies the oldest undone edit of a film. Call inside a transaction. */
export function reapplyNextEdit(db: Database.Database, filmId: number): EditRecord | null {
  return stepEdit(db, filmId, 'redo');
}

/** Labels of the edit that undo and redo would apply next (for the UI's buttons and tooltips). */
export function undoRedoLabels(db: Database.Database, filmId: number): { undo: string | null; redo: string | null } {
  const label = (direction: keyof typeof NEXT_EDIT): string | null =>
    db.prepare<unknown[], { label: string }>(`SELECT label ${NEXT_EDIT[direction]}`).get(filmId)?.label ?? null;
  return { undo: label('undo'), redo: label('redo') };
}

const ENTITY_OF: Record<Table, ChangedEntity['type']> = {
  chapter: 'chapter', subchapter: 'subchapter', frame: 'frame', dialogue_line: 'dialogue', qa_pair: 'qa', render: 'render',
};

/** Entity types touched by an edit's changes, for change notifications. */
export function touchedEntities(changes: Change[]): ChangedEntity[] {
  const out = new Map<ChangedEntity['type'], number[]>();
  for (const c of changes) {
    const t = ENTITY_OF[c.table];
    out.set(t, [...(out.get(t) ?? []), c.id]);
  }
  return [...out.entries()].map(([type, ids]) => ({ type, ids }));
}
