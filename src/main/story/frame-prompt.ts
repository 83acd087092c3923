import type Database from 'better-sqlite3';
import { filmIdOf, filmStyleKeyword, getFrame, listCharacters } from './film-reader';
import { assembleFramePrompt, type NamedCharacter } from './lookalike';

/**
 * The one frame-prompt function: what the renderer is given for a frame, what the plot view's
 * preview (`plot.framePrompt`) and `render.prompt` show, and the frame entries of a story_js export.
 * A film without a style keyword gets the description alone (no invented keyword), so the preview
 * never differs from what is rendered — unless the caller names a `fallbackKeyword`: the story_js
 * format needs one, because every frame entry there is "generate an image in <keyword> style: …" and
 * the importer reads the film's keyword (and tells frames from loose text) by that prefix.
 */

export interface FramePromptOptions {
  /** The keyword to use when the film has none (default: none, the description alone). */
  fallbackKeyword?: string;
}

/** A film's cast as the prompt needs it (name and lookalike, in cast order). */
export function filmCharacters(db: Database.Database, filmId: number): NamedCharacter[] {
  return listCharacters(db, filmId).map(({ name, lookalike }) => ({ name, lookalike }));
}

/** A film's style keyword (`not_found` for an unknown film). */
export const filmKeyword = filmStyleKeyword;

/** The prompt of a frame description for a film already in memory (its keyword and cast), as `framePrompt` builds it. */
export function framePromptOf(film: { keyword: string; characters: readonly NamedCharacter[] }, description: string,
  options: FramePromptOptions = {}): string {
  return assembleFramePrompt(film.keyword.trim() || (options.fallbackKeyword ?? ''), description, film.characters);
}

/** The prompt of a frame description in a film (lookalikes substituted, the film's keyword prefixed). */
export function framePrompt(db: Database.Database, filmId: number, description: string, options: FramePromptOptions = {}): string {
  return framePromptOf({ keyword: filmKeyword(db, filmId), characters: filmCharacters(db, filmId) }, description, options);
}

/** The prompt of a stored frame. */
export function promptOfFrame(db: Database.Database, frameId: number): string {
  const { description } = getFrame(db, frameId);
  return framePrompt(db, filmIdOf(db, 'frame', frameId), description);
}
