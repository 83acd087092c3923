import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type {
  Chapter, Character, Counts, DialogueLine, Film, FilmDetail, FilmSummary, Frame, QaPair, Storyboard, Subchapter,
} from '../../shared/api/entities';
import { AppError } from '../../shared/errors';
import { FRAMES_WITH_OUTLINE, LINES_WITH_OUTLINE, SUBCHAPTERS_WITH_OUTLINE } from './outline-joins';

interface FilmRow {
  id: number; theme: string; title: string; overview: string; style_description: string; style_keyword: string;
  locations_json: string; generation_json: string; source: FilmSummary['source']; structure: FilmSummary['structure'];
  created_at: string; updated_at: string;
  chapters: number; subchapters: number; frames: number; dialogue_lines: number; qa_pairs: number; characters: number;
}

const FILM_SELECT = `
  SELECT f.*,
    (SELECT count(*) FROM chapter c WHERE c.film_id = f.id) AS chapters,
    (SELECT count(*) FROM ${SUBCHAPTERS_WITH_OUTLINE} WHERE c.film_id = f.id) AS subchapters,
    (SELECT count(*) FROM ${FRAMES_WITH_OUTLINE}
       WHERE c.film_id = f.id) AS frames,
    (SELECT count(*) FROM ${LINES_WITH_OUTLINE}
       WHERE c.film_id = f.id) AS dialogue_lines,
    (SELECT count(*) FROM qa_pair q WHERE q.film_id = f.id) AS qa_pairs,
    (SELECT count(*) FROM character ch WHERE ch.film_id = f.id) AS characters
  FROM film f`;

function toCounts(r: FilmRow): Counts {
  return {
    chapters: r.chapters, subchapters: r.subchapters, frames: r.frames,
    dialogueLines: r.dialogue_lines, qaPairs: r.qa_pairs, characters: r.characters,
  };
}

function toSummary(r: FilmRow): FilmSummary {
  return {
    id: r.id, title: r.title, theme: r.theme, styleKeyword: r.style_keyword, source: r.source,
    structure: r.structure, counts: toCounts(r), createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export function listFilms(db: Database.Database): FilmSummary[] {
  return db.prepare<unknown[], FilmRow>(`${FILM_SELECT} ORDER BY f.id`).all().map(toSummary);
}

export function getFilm(db: Database.Database, filmId: number): Film {
  const row = db.prepare<unknown[], FilmRow>(`${FILM_SELECT} WHERE f.id = ?`).get(filmId);
  if (!row) throw new AppError('not_found', `No film with id ${filmId}`, { filmId });
  return {
    ...toSummary(row),
    overview: row.overview,
    styleDescription: row.style_description,
    locations: JSON.parse(row.locations_json) as string[],
    generation: JSON.parse(row.generation_json) as Record<string, unknown>,
  };
}

/** A film's style keyword alone (the frame prompt reads it per frame; `getFilm` counts too much for that). */
export function filmStyleKeyword(db: Database.Database, filmId: number): string {
  const row = db.prepare<[number], { style_keyword: string }>('SELECT style_keyword FROM film WHERE id = ?').get(filmId);
  if (!row) throw new AppError('not_found', `No film with id ${filmId}`, { filmId });
  return row.style_keyword;
}

export function listCharacters(db: Database.Database, filmId: number): Character[] {
  return db.prepare<unknown[], Character>(`SELECT id, name, lookalike, role, color, position FROM character
    WHERE film_id = ? ORDER BY position`).all(filmId);
}

function listChapters(db: Database.Database, filmId: number): Chapter[] {
  return db.prepare<unknown[], Chapter>('SELECT id, position, title, scene, summary FROM chapter WHERE film_id = ? ORDER BY position')
    .all(filmId);
}

function listSubchapters(db: Database.Database, filmId: number): Subchapter[] {
  return db.prepare<unknown[], Subchapter>(`SELECT s.id, s.chapter_id AS chapterId, s.position, s.title, s.scene, s.summary
    FROM ${SUBCHAPTERS_WITH_OUTLINE}
    WHERE c.film_id = ? ORDER BY c.position, s.position`).all(filmId);
}

interface ReviewColumns { review_state: 'draft' | 'approved' | 'rejected'; review_note: string | null; review_reason?: string | null }

interface QaRow extends ReviewColumns {
  id: number; scope: QaPair['scope']; chapter_id: number | null; subchapter_id: number | null; position: number;
  question: string; answer: string; kind: QaPair['kind'];
}

export function qaFromRow(r: QaRow): QaPair {
  return {
    id: r.id, scope: r.scope, chapterId: r.chapter_id, subchapterId: r.subchapter_id, position: r.position,
    question: r.question, answer: r.answer, kind: r.kind, review: { state: r.review_state, note: r.review_note, reason: r.review_reason ?? null },
  };
}

function listQa(db: Database.Database, filmId: number): QaPair[] {
  return db.prepare<unknown[], QaRow>('SELECT * FROM qa_pair WHERE film_id = ? ORDER BY position').all(filmId).map(qaFromRow);
}

interface FrameRow extends ReviewColumns {
  id: number; subchapter_id: number; position: number; description: string; scene: string; stale: number;
  keyframe_sha: string | null;
}

/** Media key of a frame's picture; the `v` part changes whenever the picture does, busting caches. */
function frameThumbnail(r: FrameRow): Frame['thumbnail'] {
  if (r.keyframe_sha) return { kind: 'render', key: `frame/${r.id}?v=${r.keyframe_sha.slice(0, 16)}` };
  const v = createHash('sha1').update(`${r.position}\n${r.scene}\n${r.description}`).digest('hex').slice(0, 12);
  return { kind: 'placeholder', key: `frame/${r.id}?v=p${v}` };
}

export function frameFromRow(r: FrameRow): Frame {
  return {
    id: r.id, subchapterId: r.subchapter_id, position: r.position, description: r.description, scene: r.scene,
    review: { state: r.review_state, note: r.review_note, reason: r.review_reason ?? null }, stale: r.stale === 1, thumbnail: frameThumbnail(r),
  };
}

const FRAME_COLUMNS = `fr.*, (SELECT r.asset_sha256 FROM render r
  WHERE r.frame_id = fr.id AND r.is_keyframe = 1 AND r.status = 'done' ORDER BY r.id DESC LIMIT 1) AS keyframe_sha`;

export function getFrame(db: Database.Database, frameId: number): Frame {
  const row = db.prepare<unknown[], FrameRow>(`SELECT ${FRAME_COLUMNS} FROM frame fr WHERE fr.id = ?`).get(frameId);
  if (!row) throw new AppError('not_found', `No frame with id ${frameId}`, { frameId });
  return frameFromRow(row);
}

function listFrames(db: Database.Database, filmId: number): Frame[] {
  return db.prepare<unknown[], FrameRow>(`SELECT ${FRAME_COLUMNS}
    FROM ${FRAMES_WITH_OUTLINE}
    WHERE c.film_id = ? ORDER BY c.position, s.position, fr.position`).all(filmId).map(frameFromRow);
}

interface DialogueRow extends ReviewColumns {
  id: number; subchapter_id: number; after_frame: number; seq: number; speaker: string | null; text: string;
}

export function dialogueFromRow(r: DialogueRow): DialogueLine {
  return {
    id: r.id, subchapterId: r.subchapter_id, afterFrame: r.after_frame, seq: r.seq, speaker: r.speaker, text: r.text,
    review: { state: r.review_state, note: r.review_note, reason: r.review_reason ?? null },
  };
}

export function getDialogueLine(db: Database.Database, id: number): DialogueLine {
  const row = db.prepare<unknown[], DialogueRow>('SELECT * FROM dialogue_line WHERE id = ?').get(id);
  if (!row) throw new AppError('not_found', `No dialogue line with id ${id}`, { id });
  return dialogueFromRow(row);
}

export function getQaPair(db: Database.Database, id: number): QaPair {
  const row = db.prepare<unknown[], QaRow>('SELECT * FROM qa_pair WHERE id = ?').get(id);
  if (!row) throw new AppError('not_found', `No QA pair with id ${id}`, { id });
  return qaFromRow(row);
}

function listDialogue(db: Database.Database, filmId: number): DialogueLine[] {
  return db.prepare<unknown[], DialogueRow>(`SELECT d.* FROM ${LINES_WITH_OUTLINE}
    WHERE c.film_id = ? ORDER BY c.position, s.position, d.after_frame, d.seq`).all(filmId)
    .map(dialogueFromRow);
}

export function getFilmDetail(db: Database.Database, filmId: number): FilmDetail {
  return db.transaction(() => ({
    film: getFilm(db, filmId),
    characters: listCharacters(db, filmId),
    chapters: listChapters(db, filmId),
    subchapters: listSubchapters(db, filmId),
    qa: listQa(db, filmId),
  }))();
}

/** The whole film in storyboard order, read in one transaction so it is a consistent snapshot. */
export function getStoryboard(db: Database.Database, filmId: number): Storyboard {
  return db.transaction(() => ({
    ...getFilmDetail(db, filmId),
    frames: listFrames(db, filmId),
    dialogue: listDialogue(db, filmId),
  }))();
}

/**
 * The current rows of some frames, dialogue lines and QA pairs of one film, for a storyboard that
 * patches what a change event names instead of refetching the film, with the film's own row. Ids
 * that no longer exist (or belong to another film) are simply absent. One transaction, like getStoryboard.
 */
export function getStoryboardItems(db: Database.Database, filmId: number, ids: { frames: number[]; dialogue: number[]; qa: number[] }):
  Pick<Storyboard, 'film' | 'frames' | 'dialogue' | 'qa'> {
  return db.transaction(() => {
    const list = (xs: number[]) => JSON.stringify(xs);
    return {
      // The film row too (not_found when deleted): edits change its updatedAt and counts.
      film: getFilm(db, filmId),
      frames: ids.frames.length === 0 ? [] : db.prepare<unknown[], FrameRow>(`SELECT ${FRAME_COLUMNS}
        FROM ${FRAMES_WITH_OUTLINE}
        WHERE c.film_id = ? AND fr.id IN (SELECT value FROM json_each(?))`).all(filmId, list(ids.frames)).map(frameFromRow),
      dialogue: ids.dialogue.length === 0 ? [] : db.prepare<unknown[], DialogueRow>(`SELECT d.* FROM ${LINES_WITH_OUTLINE}
        WHERE c.film_id = ? AND d.id IN (SELECT value FROM json_each(?))`).all(filmId, list(ids.dialogue)).map(dialogueFromRow),
      qa: ids.qa.length === 0 ? [] : db.prepare<unknown[], QaRow>(
          'SELECT * FROM qa_pair WHERE film_id = ? AND id IN (SELECT value FROM json_each(?))')
        .all(filmId, list(ids.qa)).map(qaFromRow),
    };
  })();
}

/** A chapter's or subchapter's outline fields (what the next plot level expands). */
export function getOutlineItem(db: Database.Database, type: 'chapter' | 'subchapter', id: number):
  { id: number; title: string; scene: string; summary: string } {
  const row = db.prepare<[number], { id: number; title: string; scene: string; summary: string }>(
    `SELECT id, title, scene, summary FROM ${type === 'chapter' ? 'chapter' : 'subchapter'} WHERE id = ?`).get(id);
  if (!row) throw new AppError('not_found', `No ${type} with id ${id}`, { type, id });
  return row;
}

/** The story rows that belong to a film through the outline (chapter → subchapter → frame). */
export type FilmOwned = 'chapter' | 'subchapter' | 'frame' | 'dialogue' | 'qa' | 'render';

/**
 * The one place the frame → subchapter → chapter → film join is written: which film a row belongs to
 * (for change notifications, the edit log and scoping checks).
 */
const FILM_OF: Record<FilmOwned, string> = {
  chapter: 'SELECT film_id AS f FROM chapter WHERE id = ?',
  subchapter: `SELECT c.film_id AS f FROM ${SUBCHAPTERS_WITH_OUTLINE} WHERE s.id = ?`,
  frame: `SELECT c.film_id AS f FROM ${FRAMES_WITH_OUTLINE} WHERE fr.id = ?`,
  dialogue: `SELECT c.film_id AS f FROM ${LINES_WITH_OUTLINE} WHERE d.id = ?`,
  qa: 'SELECT film_id AS f FROM qa_pair WHERE id = ?',
  render: `SELECT c.film_id AS f FROM ${FRAMES_WITH_OUTLINE} JOIN render r ON r.frame_id = fr.id WHERE r.id = ?`,
};

/** Which film a row belongs to; `not_found` naming the type and id when there is no such row. */
export function filmIdOf(db: Database.Database, type: FilmOwned, id: number): number {
  const row = db.prepare<[number], { f: number }>(FILM_OF[type]).get(id);
  if (!row) throw new AppError('not_found', `No ${type} with id ${id}`, { type, id });
  return row.f;
}
