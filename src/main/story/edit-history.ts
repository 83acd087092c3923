import type Database from 'better-sqlite3';

/** Labels of the edit that undo and redo would apply next (for the UI's buttons and tooltips). */
export function undoRedoLabels(db: Database.Database, filmId: number): { undo: string | null; redo: string | null } {
  const undo = db.prepare('SELECT label FROM edit_log WHERE film_id = ? AND undone = 0 ORDER BY id DESC LIMIT 1').get(filmId) as
    { label: string } | undefined;
  const redo = db.prepare('SELECT label FROM edit_log WHERE film_id = ? AND undone = 1 ORDER BY id ASC LIMIT 1').get(filmId) as
    { label: string } | undefined;
  return { undo: undo?.label ?? null, redo: redo?.label ?? null };
}
