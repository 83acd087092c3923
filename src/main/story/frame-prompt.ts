import type Database from 'better-sqlite3';
import { AppError } from '../../shared/errors';
import { filmIdOf, getFrame } from './film-reader';
import { assembleFramePrompt, type NamedCharacter } from './lookalike';

/**
 * The one frame-prompt function: what the renderer is given for a frame, and what the plot view's
 * preview (`plot.framePrompt`) and `render.prompt` show. A film without a style keyword gets the
 * description alone (no invented keyword), so the preview never differs from what is rendered.
 */

export function filmCharacters(db: Database.Database, filmId: number): NamedCharacter[] {
  return db.prepare<[number], NamedCharacter>('SELECT name, lookalike FROM character WHERE film_id = ? ORDER BY position').all(filmId);
}

export function filmKeyword(db: Database.Database, filmId: number): string {
  const row = db.prepare<[number], { style_keyword: string }>('SELECT style_keyword FROM film WHERE id = ?').get(filmId);
  if (!row) throw new AppError('not_found', `No film with id ${filmId}`, { filmId });
  return row.style_keyword;
}

/** The prompt of a frame description in a film (lookalikes substituted, the film's keyword prefixed). */
export function framePrompt(db: Database.Database, filmId: number, description: string): string {
  return assembleFramePrompt(filmKeyword(db, filmId), description, filmCharacters(db, filmId));
}

/** The prompt of a stored frame. */
export function promptOfFrame(db: Database.Database, frameId: number): string {
  const { description } = getFrame(db, frameId);
  return framePrompt(db, filmIdOf(db, 'frame', frameId), description);
}
