import type { ExportFilm, ExportQa } from '../selection';
import type { DataFile, FormatContext } from '../types';

/**
 * Plain JSONL: one QA pair per line with its film, scope and (when clips are on) its clip, for
 * pipelines that want neither LLaMA-VID's nor Video-ChatGPT's layout.
 */

export interface JsonlRow {
  id: string;
  film_id: number;
  film_title: string;
  scope: 'film' | 'chapter' | 'subchapter';
  chapter: number | null;
  subchapter: number | null;
  kind: string;
  review_state: string;
  question: string;
  answer: string;
  video: string | null;
  frames: number;
}

function rows(ctx: FormatContext, film: ExportFilm): JsonlRow[] {
  const clips = ctx.clipsWritten ? ctx.clips.get(film.id) : undefined;
  const out: JsonlRow[] = [];
  const add = (scope: JsonlRow['scope'], stem: string, chapter: number | null, sub: number | null,
    video: string | null, frames: number, qa: ExportQa[]) => {
    for (const q of qa) {
      out.push({
        id: `${film.dirName}_${stem}_qa${q.id}`, film_id: film.id, film_title: film.title, scope, chapter, subchapter: sub,
        kind: q.kind, review_state: q.review, question: q.question, answer: q.answer, video, frames,
      });
    }
  };
  const total = film.chapters.reduce((n, c) => n + c.subchapters.reduce((m, s) => m + s.frames.length, 0), 0);
  add('film', 'film', null, null, clips?.film?.relPath ?? null, total, film.qa);
  for (const ch of film.chapters) {
    const chFrames = ch.subchapters.reduce((m, s) => m + s.frames.length, 0);
    add('chapter', ch.stem, ch.index + 1, null, clips?.chapters.get(ch.id)?.relPath ?? null, chFrames, ch.qa);
    for (const sub of ch.subchapters) {
      add('subchapter', sub.stem, ch.index + 1, sub.index + 1, clips?.subchapters.get(sub.id)?.relPath ?? null, sub.frames.length, sub.qa);
    }
  }
  return out;
}

export function writeJsonl(ctx: FormatContext): DataFile[] {
  const all = ctx.films.flatMap((f) => rows(ctx, f));
  return [{ relPath: 'qa.jsonl', content: all.map((r) => `${JSON.stringify(r)}\n`).join(''), records: all.length }];
}
