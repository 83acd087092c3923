import type { ExportPreflight, ExportPreflightInput } from '../../shared/api/methods-export';
import type { Project } from '../project/project';
import { staleFrameIds } from '../render/render-repo';
import { nothingExportedReason } from './empty';
import { selectFilms } from './exporter';
import { datasetStats } from './stats';
import { ExportOptions } from './types';

/**
 * What an export with these settings would put out and leave out, before it runs (issue #17 defect 7: an export
 * reported "done" with 0 records). The dialog shows it and asks for a decision: export as is (placeholders for
 * unrendered frames only when allowed), or go back and approve more.
 */
export function exportPreflight(project: Project, input: ExportPreflightInput): ExportPreflight {
  const films = selectFilms(project, input.filmIds, input.includeDrafts, input.excludeFlagged);
  const stats = datasetStats(films);
  const stale = new Set(staleFrameIds(project.db));
  let staleFrames = 0;
  for (const f of films) for (const c of f.chapters) for (const s of c.subchapters) for (const fr of s.frames) if (stale.has(fr.id)) staleFrames++;
  // Only the fields the emptiness rule reads; the folder is checked when the export starts.
  const opts = ExportOptions.parse({ format: input.format, outDir: '/', filmIds: input.filmIds, includeDrafts: input.includeDrafts, excludeFlagged: input.excludeFlagged });
  return {
    films: stats.films,
    frames: stats.frames,
    unrenderedFrames: stats.unrenderedFrames,
    staleFrames,
    dialogueLines: stats.dialogueLines,
    qaPairs: stats.qaPairs.total,
    excluded: stats.excluded,
    emptyReason: nothingExportedReason(project, films, opts),
  };
}
