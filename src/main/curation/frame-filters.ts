import type Database from 'better-sqlite3';
import { frameTexts, lineTexts, outlineQaTexts, type FrameText } from './repo';

/**
 * What the storyboard's filters need from the database beyond the storyboard itself: which frames'
 * last render attempt failed, and which frames a text search finds. A frame's searchable text is its
 * description and scene, the dialogue lines shown with it (speaker and text; lines before a
 * subchapter's first frame go with that first frame), and the QA pairs of its subchapter and chapter.
 * A query matches a frame when every word of it occurs somewhere in that text, in any order
 * (case- and accent-insensitive substrings).
 */

export function foldText(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLocaleLowerCase();
}

/** The words of a query, folded; duplicates dropped. */
export function queryWords(query: string): string[] {
  return [...new Set(foldText(query).split(/\s+/u).filter((w) => w !== ''))];
}

/** Frame ids (ascending) whose searchable text holds every word of `query`; every frame for an empty query. */
export function framesMatching(db: Database.Database, filmId: number, query: string): number[] {
  const words = queryWords(query);
  const frames = frameTexts(db, filmId);
  if (words.length === 0) return frames.map((f) => f.id).sort((a, b) => a - b);

  const lines = lineTexts(db, filmId);
  const qa = outlineQaTexts(db, filmId);

  const append = (map: Map<number, string>, key: number, text: string) => map.set(key, `${map.get(key) ?? ''}\n${foldText(text)}`);
  const qaBySub = new Map<number, string>();
  const qaByChapter = new Map<number, string>();
  for (const q of qa) {
    if (q.subchapterId !== null) append(qaBySub, q.subchapterId, q.text);
    else if (q.chapterId !== null) append(qaByChapter, q.chapterId, q.text);
  }
  // Frame k (1-based in its subchapter) carries the lines with afterFrame = k; the first also those before it,
  // the last those placed beyond the frame count (as the storyboard shows them).
  const framesBySub = new Map<number, FrameText[]>();
  for (const f of frames) framesBySub.set(f.subchapterId, [...(framesBySub.get(f.subchapterId) ?? []), f]);
  const linesByFrame = new Map<number, string>();
  for (const l of lines) {
    const subFrames = framesBySub.get(l.subchapterId);
    if (!subFrames?.length) continue;
    const k = Math.min(Math.max(l.afterFrame, 1), subFrames.length);
    append(linesByFrame, subFrames[k - 1].id, l.text);
  }
  const hits: number[] = [];
  for (const f of frames) {
    const text = [foldText(f.text), linesByFrame.get(f.id) ?? '', qaBySub.get(f.subchapterId) ?? '', qaByChapter.get(f.chapterId) ?? ''].join('\n');
    if (words.every((w) => text.includes(w))) hits.push(f.id);
  }
  return hits.sort((a, b) => a - b);
}
