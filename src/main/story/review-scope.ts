import type Database from 'better-sqlite3';
import type { ItemRef, ReviewState } from '../../shared/api/entities';
import { AppError } from '../../shared/errors';
import { getStoryboard } from './film-reader';
import { setReview } from './edits';

/**
 * Review of a whole film, chapter or subchapter at once (the headless counterpart of selecting the
 * items in the storyboard): the items are resolved from the film's storyboard and go through
 * setReview, i.e. one entry in the film's edit log that the app's undo reverts.
 * Chapter N and subchapter N.M count from 1 in story order, as the export's c01_s02 clip names do.
 */

export type ReviewScope = { kind: 'film' } | { kind: 'chapter'; chapter: number } | { kind: 'subchapter'; chapter: number; subchapter: number };
export type ReviewWhat = 'frames' | 'lines' | 'qa';
export const REVIEW_WHAT: readonly ReviewWhat[] = ['frames', 'lines', 'qa'];

/** Parses "chapter:N" or "subchapter:N.M" (absent: the whole film). */
export function parseReviewScope(text: string | undefined): ReviewScope {
  if (text === undefined || text === 'film') return { kind: 'film' };
  const ch = /^chapter:(\d+)$/.exec(text);
  if (ch && Number(ch[1]) >= 1) return { kind: 'chapter', chapter: Number(ch[1]) };
  const sub = /^subchapter:(\d+)\.(\d+)$/.exec(text);
  if (sub && Number(sub[1]) >= 1 && Number(sub[2]) >= 1) return { kind: 'subchapter', chapter: Number(sub[1]), subchapter: Number(sub[2]) };
  throw new AppError('invalid_input', `--scope must be chapter:N or subchapter:N.M (counting from 1), got "${text}"`, { scope: text });
}

/** Parses "frames,lines,qa" (any non-empty subset). */
export function parseReviewWhat(text: string | undefined): ReviewWhat[] {
  if (text === undefined) return [...REVIEW_WHAT];
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = parts.filter((p) => !REVIEW_WHAT.includes(p as ReviewWhat));
  if (parts.length === 0 || bad.length > 0) {
    throw new AppError('invalid_input', `--what takes a comma-separated list of ${REVIEW_WHAT.join(', ')}, got "${text}"`, { what: text });
  }
  return REVIEW_WHAT.filter((w) => parts.includes(w));
}

/** The items of a scope, of the requested kinds, in story order. */
export function scopeItems(db: Database.Database, filmId: number, scope: ReviewScope, what: readonly ReviewWhat[]): ItemRef[] {
  const board = getStoryboard(db, filmId);
  const chapters = [...board.chapters].sort((a, b) => a.position - b.position);
  let chapterIds: Set<number> | null = null;
  let subchapterIds: Set<number> | null = null;
  if (scope.kind !== 'film') {
    const chapter = chapters[scope.chapter - 1];
    if (!chapter) throw new AppError('not_found', `Film ${filmId} has no chapter ${scope.chapter} (it has ${chapters.length})`, { filmId, chapter: scope.chapter });
    const subs = board.subchapters.filter((s) => s.chapterId === chapter.id).sort((a, b) => a.position - b.position);
    if (scope.kind === 'subchapter') {
      const sub = subs[scope.subchapter - 1];
      if (!sub) throw new AppError('not_found', `Chapter ${scope.chapter} of film ${filmId} has no subchapter ${scope.subchapter} (it has ${subs.length})`, { filmId, chapter: scope.chapter, subchapter: scope.subchapter });
      subchapterIds = new Set([sub.id]);
    } else {
      chapterIds = new Set([chapter.id]);
      subchapterIds = new Set(subs.map((s) => s.id));
    }
  }
  const inScope = (subchapterId: number) => subchapterIds === null || subchapterIds.has(subchapterId);
  const items: ItemRef[] = [];
  if (what.includes('frames')) items.push(...board.frames.filter((f) => inScope(f.subchapterId)).map((f) => ({ type: 'frame' as const, id: f.id })));
  if (what.includes('lines')) items.push(...board.dialogue.filter((d) => inScope(d.subchapterId)).map((d) => ({ type: 'dialogue' as const, id: d.id })));
  if (what.includes('qa')) {
    const qa = board.qa.filter((q) => {
      if (scope.kind === 'film') return true;
      if (q.scope === 'subchapter') return q.subchapterId !== null && subchapterIds!.has(q.subchapterId);
      if (q.scope === 'chapter') return chapterIds !== null && q.chapterId !== null && chapterIds.has(q.chapterId);
      return false; // film-level pairs belong to the whole film only
    });
    items.push(...qa.map((q) => ({ type: 'qa' as const, id: q.id })));
  }
  return items;
}

export interface ScopeReviewResult {
  filmId: number;
  state: ReviewState;
  updated: number;
  counts: { frames: number; lines: number; qa: number };
}

/** Sets the review state of every item of a scope in one undoable edit. */
export function reviewScope(db: Database.Database, filmId: number, scope: ReviewScope, what: readonly ReviewWhat[], state: ReviewState): ScopeReviewResult {
  const items = scopeItems(db, filmId, scope, what);
  const counts = {
    frames: items.filter((i) => i.type === 'frame').length,
    lines: items.filter((i) => i.type === 'dialogue').length,
    qa: items.filter((i) => i.type === 'qa').length,
  };
  const updated = items.length > 0 ? setReview(db, items, state, null).updated : 0;
  return { filmId, state, updated, counts };
}
