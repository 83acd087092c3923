import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { QaKind, ReviewState } from '../../shared/api/entities';
import { getStoryboard, listFilms } from '../story/film-reader';
import { AppError } from '../../shared/errors';
import { safeSegment, slugify } from './safe-paths';
import { filmKeyframes } from './repo';

/**
 * What an export contains: the films' trees with only the items whose review state is allowed
 * (approved; drafts on request; rejected never), in story order. Dialogue positions are recounted
 * against the frames that survive the filter.
 */

export interface ExportFrame {
  id: number;
  description: string;
  scene: string;
  /** 1-based "chapter.subchapter.frame" label from the stored positions, as on the placeholder card. */
  label: string;
  /** The keyframe render file, or null when the frame was never rendered (placeholder card). */
  render: { sha256: string; relPath: string } | null;
  /** Identifies the picture: the render's hash, or a hash of what the placeholder card shows. */
  pictureKey: string;
}

export interface ExportLine {
  id: number;
  speaker: string | null;
  text: string;
  /** Number of exported frames of the subchapter before this line. */
  afterFrame: number;
}

export interface ExportQa {
  id: number;
  question: string;
  answer: string;
  kind: QaKind;
  review: ReviewState;
}

export interface ExportSubchapter {
  id: number;
  index: number;
  title: string;
  scene: string;
  frames: ExportFrame[];
  dialogue: ExportLine[];
  qa: ExportQa[];
  /** Path stem of this subchapter's clip, e.g. "c01_s02". */
  stem: string;
}

export interface ExportChapter {
  id: number;
  index: number;
  title: string;
  scene: string;
  subchapters: ExportSubchapter[];
  qa: ExportQa[];
  stem: string;
}

export interface ExportFilm {
  id: number;
  title: string;
  overview: string;
  styleKeyword: string;
  structure: 'hierarchical' | 'flat';
  characters: { name: string; lookalike: string }[];
  chapters: ExportChapter[];
  qa: ExportQa[];
  /** Folder name of the film inside the export: "film-<id>-<slug of title>", sanitised. */
  dirName: string;
  /** Items left out by the review filter, per type. */
  excluded: { frames: number; dialogueLines: number; qaPairs: number };
  unrenderedFrames: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

function allowed(state: ReviewState, includeDrafts: boolean): boolean {
  return state === 'approved' || (includeDrafts && state === 'draft');
}

/** `leaveOut`: frames to drop unless approved (the quality check's flagged frames with `excludeFlagged`). */
export function loadExportFilm(db: Database.Database, filmId: number, includeDrafts: boolean, leaveOut: ReadonlySet<number> = new Set()): ExportFilm {
  const board = getStoryboard(db, filmId);
  const renders = filmKeyframes(db, filmId);
  const excluded = { frames: 0, dialogueLines: 0, qaPairs: 0 };
  let unrenderedFrames = 0;

  const qaOf = (pred: (q: (typeof board.qa)[number]) => boolean): ExportQa[] => board.qa
    .filter(pred)
    .filter((q) => {
      const ok = allowed(q.review.state, includeDrafts);
      if (!ok) excluded.qaPairs++;
      return ok;
    })
    .map((q) => ({ id: q.id, question: q.question, answer: q.answer, kind: q.kind, review: q.review.state }));

  // Group once by parent id: films can hold thousands of frames.
  const group = <T, K>(items: T[], key: (x: T) => K): Map<K, T[]> => {
    const m = new Map<K, T[]>();
    for (const x of items) {
      const list = m.get(key(x));
      if (list) list.push(x);
      else m.set(key(x), [x]);
    }
    return m;
  };
  const subsByChapter = group(board.subchapters, (s) => s.chapterId);
  const framesBySub = group(board.frames, (f) => f.subchapterId);
  const linesBySub = group(board.dialogue, (d) => d.subchapterId);

  const chapters: ExportChapter[] = board.chapters.map((ch, ci) => {
    const subs = subsByChapter.get(ch.id) ?? [];
    return {
      id: ch.id,
      index: ci,
      title: ch.title,
      scene: ch.scene,
      stem: `c${pad(ci + 1)}`,
      qa: qaOf((q) => q.scope === 'chapter' && q.chapterId === ch.id),
      subchapters: subs.map((s, si) => {
        const allFrames = framesBySub.get(s.id) ?? [];
        // kept[k] = how many allowed frames are among the first k frames of the subchapter
        const kept: number[] = [0];
        const frames: ExportFrame[] = [];
        allFrames.forEach((f, fi) => {
          const ok = allowed(f.review.state, includeDrafts) && !(leaveOut.has(f.id) && f.review.state !== 'approved');
          kept.push(kept[fi] + (ok ? 1 : 0));
          if (!ok) {
            excluded.frames++;
            return;
          }
          const label = `${ch.position + 1}.${s.position + 1}.${f.position + 1}`;
          const render = renders.get(f.id) ?? null;
          if (!render) unrenderedFrames++;
          const pictureKey = render
            ? `render:${render.sha256}`
            : `card:${createHash('sha256').update(`Frame ${label}\n${f.scene}\n${f.description}`).digest('hex')}`;
          frames.push({ id: f.id, description: f.description, scene: f.scene, label, render, pictureKey });
        });
        const dialogue: ExportLine[] = (linesBySub.get(s.id) ?? [])
          .filter((d) => {
            const ok = allowed(d.review.state, includeDrafts);
            if (!ok) excluded.dialogueLines++;
            return ok;
          })
          .map((d) => ({ id: d.id, speaker: d.speaker, text: d.text, afterFrame: kept[Math.min(d.afterFrame, allFrames.length)] }));
        return {
          id: s.id,
          index: si,
          title: s.title,
          scene: s.scene,
          stem: `c${pad(ci + 1)}_s${pad(si + 1)}`,
          frames,
          dialogue,
          qa: qaOf((q) => q.scope === 'subchapter' && q.subchapterId === s.id),
        };
      }),
    };
  });

  const title = board.film.title;
  return {
    id: filmId,
    title,
    overview: board.film.overview,
    styleKeyword: board.film.styleKeyword,
    structure: board.film.structure,
    characters: board.characters.map((c) => ({ name: c.name, lookalike: c.lookalike })),
    chapters,
    qa: qaOf((q) => q.scope === 'film'),
    dirName: safeSegment(`film-${filmId}${slugify(title) ? `-${slugify(title)}` : ''}`),
    excluded,
    unrenderedFrames,
  };
}

/** The films an export covers: the given ids (each must exist) or every film, by id. */
export function selectFilmIds(db: Database.Database, filmIds?: number[]): number[] {
  const all = listFilms(db).map((f) => f.id);
  if (!filmIds || filmIds.length === 0) return all;
  for (const id of filmIds) {
    if (!all.includes(id)) throw new AppError('not_found', `No film with id ${id} in this project`, { filmId: id });
  }
  return [...new Set(filmIds)].sort((a, b) => a - b);
}
