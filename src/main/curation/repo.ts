import type Database from 'better-sqlite3';
import type { ReviewState } from '../../shared/api/entities';
import { AppError } from '../../shared/errors';
import { FRAMES_WITH_OUTLINE, LINES_WITH_OUTLINE } from '../story/outline-joins';

/**
 * The curation area's reads: the rows text search and the storyboard filters scan, and the frame and
 * line positions structure edits renumber. Typed rows, no writes (structure edits write through the
 * edit log, inside `mutate`).
 */

export function requireFilm(db: Database.Database, filmId: number): void {
  if (!db.prepare('SELECT 1 FROM film WHERE id = ?').get(filmId)) throw new AppError('not_found', `No film with id ${filmId}`, { filmId });
}

// ── text search (curation.search) ───────────────────────────────────────────

/** One searchable row: its id, review state and the text fields search looks in. */
export interface SearchRow { id: number; state: ReviewState; [field: string]: string | number | null }

/** The film's frames (description, scene) in story order. */
export function frameSearchRows(db: Database.Database, filmId: number): SearchRow[] {
  return db.prepare<[number], SearchRow>(`SELECT fr.id, fr.review_state AS state, fr.description, fr.scene FROM ${FRAMES_WITH_OUTLINE}
    WHERE c.film_id = ? ORDER BY c.position, s.position, fr.position, fr.id`).all(filmId);
}

/** The film's dialogue lines (text, speaker) in story order. */
export function lineSearchRows(db: Database.Database, filmId: number): SearchRow[] {
  return db.prepare<[number], SearchRow>(`SELECT d.id, d.review_state AS state, d.text, d.speaker FROM ${LINES_WITH_OUTLINE}
    WHERE c.film_id = ? ORDER BY c.position, s.position, d.after_frame, d.seq, d.id`).all(filmId);
}

/** The film's QA pairs (question, answer), film level first. */
export function qaSearchRows(db: Database.Database, filmId: number): SearchRow[] {
  return db.prepare<[number], SearchRow>(`SELECT id, review_state AS state, question, answer FROM qa_pair WHERE film_id = ?
    ORDER BY scope, position, id`).all(filmId);
}

// ── storyboard filters ──────────────────────────────────────────────────────

/** Frames of the film whose most recent render attempt failed (an older failure a later render replaced does not count). */
export function framesWithFailedRender(db: Database.Database, filmId: number): number[] {
  return db.prepare<[number], { id: number }>(`SELECT fr.id FROM ${FRAMES_WITH_OUTLINE}
    JOIN render r ON r.id = (SELECT max(r2.id) FROM render r2 WHERE r2.frame_id = fr.id)
    WHERE c.film_id = ? AND r.status = 'failed' ORDER BY fr.id`).all(filmId).map((r) => r.id);
}

/** A frame with its own searchable text (description and scene). */
export interface FrameText { id: number; subchapterId: number; chapterId: number; position: number; text: string }

export function frameTexts(db: Database.Database, filmId: number): FrameText[] {
  return db.prepare<[number], FrameText>(`SELECT fr.id, fr.subchapter_id AS subchapterId, s.chapter_id AS chapterId,
      fr.position, fr.description || ' ' || fr.scene AS text
    FROM ${FRAMES_WITH_OUTLINE} WHERE c.film_id = ? ORDER BY fr.subchapter_id, fr.position, fr.id`).all(filmId);
}

export interface LineText { subchapterId: number; afterFrame: number; text: string }

/** The film's dialogue lines as speaker and text, with where they sit. */
export function lineTexts(db: Database.Database, filmId: number): LineText[] {
  return db.prepare<[number], LineText>(`SELECT d.subchapter_id AS subchapterId,
      d.after_frame AS afterFrame, coalesce(d.speaker, '') || ' ' || d.text AS text
    FROM ${LINES_WITH_OUTLINE} WHERE c.film_id = ?`).all(filmId);
}

export interface QaText { chapterId: number | null; subchapterId: number | null; text: string }

/** The film's chapter- and subchapter-level QA pairs as question and answer. */
export function outlineQaTexts(db: Database.Database, filmId: number): QaText[] {
  return db.prepare<[number], QaText>(`SELECT chapter_id AS chapterId,
      subchapter_id AS subchapterId, question || ' ' || answer AS text FROM qa_pair WHERE film_id = ? AND scope != 'film'`).all(filmId);
}

// ── structure edits ─────────────────────────────────────────────────────────

/** The id the next inserted row of a table gets (edit-log inserts name their row id up front). */
export function nextRowId(db: Database.Database, table: 'frame' | 'dialogue_line'): number {
  return db.prepare<[], { n: number }>(`SELECT coalesce(max(id), 0) + 1 AS n FROM ${table}`).get()!.n;
}

export interface FramePlace { id: number; position: number }

/** A subchapter's frames in order. */
export function framePlaces(db: Database.Database, subchapterId: number): FramePlace[] {
  return db.prepare<[number], FramePlace>('SELECT id, position FROM frame WHERE subchapter_id = ? ORDER BY position, id').all(subchapterId);
}

export interface LinePlace { id: number; after_frame: number; seq: number }

/** A subchapter's dialogue lines in order. */
export function linePlaces(db: Database.Database, subchapterId: number): LinePlace[] {
  return db.prepare<[number], LinePlace>('SELECT id, after_frame, seq FROM dialogue_line WHERE subchapter_id = ? ORDER BY after_frame, seq, id')
    .all(subchapterId);
}

/** Ids of a frame's renders (a deleted frame takes them with it, undoably). */
export function renderIdsOfFrame(db: Database.Database, frameId: number): number[] {
  return db.prepare<[number], { id: number }>('SELECT id FROM render WHERE frame_id = ? ORDER BY id').all(frameId).map((r) => r.id);
}
