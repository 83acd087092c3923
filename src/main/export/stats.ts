import type { QaKind } from '../../shared/api/entities';
import type { DatasetStats, Distribution } from '../../shared/api/methods-export';
import type { ExportFilm } from './selection';

/**
 * Dataset statistics of what an export contains (after the review filter): counts per level,
 * question kinds, answer and dialogue lengths in words, and frames per film.
 */

export type { DatasetStats, Distribution };

const KINDS: QaKind[] = ['describe', 'what', 'why', 'how', 'where', 'who', 'when', 'other'];

export function wordCount(text: string): number {
  const t = text.trim();
  return t ? t.split(/\s+/u).length : 0;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Summary of a list of numbers; the median and p90 use the nearest-rank method. */
export function distribution(values: number[]): Distribution {
  if (values.length === 0) return { count: 0, min: 0, max: 0, mean: 0, median: 0, p90: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
  return {
    count: sorted.length,
    min: sorted[0],
    max: sorted[sorted.length - 1],
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    median: rank(0.5),
    p90: rank(0.9),
  };
}

export function datasetStats(films: ExportFilm[]): DatasetStats {
  const kinds = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<QaKind, number>;
  const answers: number[] = [];
  const questions: number[] = [];
  const dialogue: number[] = [];
  const qa = { film: 0, chapter: 0, subchapter: 0, total: 0 };
  const excluded = { frames: 0, dialogueLines: 0, qaPairs: 0 };
  let chapters = 0;
  let subchapters = 0;
  let unrendered = 0;
  const perFilm: DatasetStats['perFilm'] = [];

  for (const film of films) {
    const filmQa = [
      ...film.qa.map((q) => ({ q, scope: 'film' as const })),
      ...film.chapters.flatMap((c) => [
        ...c.qa.map((q) => ({ q, scope: 'chapter' as const })),
        ...c.subchapters.flatMap((s) => s.qa.map((q) => ({ q, scope: 'subchapter' as const }))),
      ]),
    ];
    for (const { q, scope } of filmQa) {
      qa[scope]++;
      kinds[q.kind]++;
      answers.push(wordCount(q.answer));
      questions.push(wordCount(q.question));
    }
    let frames = 0;
    let lines = 0;
    for (const c of film.chapters) {
      chapters++;
      for (const s of c.subchapters) {
        subchapters++;
        frames += s.frames.length;
        lines += s.dialogue.length;
        for (const l of s.dialogue) dialogue.push(wordCount(l.text));
      }
    }
    unrendered += film.unrenderedFrames;
    excluded.frames += film.excluded.frames;
    excluded.dialogueLines += film.excluded.dialogueLines;
    excluded.qaPairs += film.excluded.qaPairs;
    perFilm.push({ filmId: film.id, title: film.title, frames, dialogueLines: lines, qaPairs: filmQa.length });
  }
  qa.total = qa.film + qa.chapter + qa.subchapter;
  return {
    films: films.length,
    chapters,
    subchapters,
    frames: perFilm.reduce((n, f) => n + f.frames, 0),
    unrenderedFrames: unrendered,
    dialogueLines: perFilm.reduce((n, f) => n + f.dialogueLines, 0),
    qaPairs: qa,
    questionKinds: kinds,
    answerWords: distribution(answers),
    questionWords: distribution(questions),
    dialogueWords: distribution(dialogue),
    framesPerFilm: distribution(perFilm.map((f) => f.frames)),
    perFilm,
    excluded,
  };
}
