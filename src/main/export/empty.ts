import type { Project } from '../project/project';
import { flaggedFrameIds } from '../quality/export-metrics';
import { loadExportFilm, type ExportFilm } from './selection';
import type { ExportOptions } from './types';

/**
 * Exports that would write nothing fail with the reason instead of "succeeding" with empty files:
 * no film, or nothing the review filter lets through. When drafts were left out and would have
 * given something, the reason names --include-drafts.
 */

function keptQa(f: ExportFilm): number {
  return f.qa.length + f.chapters.reduce((n, c) => n + c.qa.length + c.subchapters.reduce((m, s) => m + s.qa.length, 0), 0);
}

function keptFrames(f: ExportFilm): number {
  return f.chapters.reduce((n, c) => n + c.subchapters.reduce((m, s) => m + s.frames.length, 0), 0);
}

/** What the format needs at least one of: QA pairs (training/eval formats) or anything (story_js). */
function hasContent(films: ExportFilm[], format: ExportOptions['format']): boolean {
  const qa = films.reduce((n, f) => n + keptQa(f), 0);
  if (format === 'story-js') return qa + films.reduce((n, f) => n + keptFrames(f), 0) > 0;
  if (format === 'jsonl') return qa > 0;
  // LLaMA-VID and Video-ChatGPT records need a QA pair on a clip, i.e. in a film that kept frames.
  return films.some((f) => keptQa(f) > 0 && keptFrames(f) > 0);
}

/** Why an export of these films would be empty, or null when it has something to write. */
export function nothingExportedReason(project: Project, films: ExportFilm[], opts: ExportOptions): string | null {
  if (films.length === 0) return 'Nothing to export: the project has no films (or none of the requested ones)';
  if (hasContent(films, opts.format)) return null;
  const excluded = films.reduce((e, f) => ({
    frames: e.frames + f.excluded.frames, dialogueLines: e.dialogueLines + f.excluded.dialogueLines, qaPairs: e.qaPairs + f.excluded.qaPairs,
  }), { frames: 0, dialogueLines: 0, qaPairs: 0 });
  const what = opts.format === 'story-js' ? 'frames or QA pairs' : opts.format === 'jsonl' ? 'QA pairs' : 'QA pairs on films with frames';
  let reason = `Nothing to export: no approved ${what} in ${films.length} film(s); left out by review: ${excluded.frames} frames, `
    + `${excluded.dialogueLines} dialogue lines, ${excluded.qaPairs} QA pairs`;
  if (!opts.includeDrafts) {
    const withDrafts = films.map((f) => loadExportFilm(project.db, f.id, true, opts.excludeFlagged ? flaggedFrameIds(project.db, f.id) : undefined));
    reason += hasContent(withDrafts, opts.format)
      ? '. They are drafts: approve them (dreamframe review … --approve) or pass --include-drafts (includeDrafts) to export drafts too'
      : '. Drafts would not help either (--include-drafts): approve the film\'s frames and QA pairs first';
  }
  return reason;
}

/** Frames that would be encoded as the media service's "not rendered yet" card. */
export function placeholderFrames(films: ExportFilm[]): { filmId: number; frameId: number }[] {
  return films.flatMap((f) => f.chapters.flatMap((c) => c.subchapters.flatMap((s) => s.frames.filter((fr) => !fr.render).map((fr) => ({ filmId: f.id, frameId: fr.id })))));
}
