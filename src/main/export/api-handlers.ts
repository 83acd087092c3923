import { isAbsolute } from 'node:path';
import { AppError } from '../../shared/errors';
import type { HandlerMap } from '../api/handler-types';
import { readManifest, selectFilms } from './exporter';
import { exportPreflight } from './preflight';
import { checkExportFolder } from './safe-paths';
import { selectFilmIds } from './selection';
import { datasetStats } from './stats';

/** Handlers of the export methods (src/shared/api/methods-export.ts). */
export const exportHandlers: Pick<HandlerMap, 'export.start' | 'export.stats' | 'export.manifest' | 'export.preflight'> = {
  'export.preflight': (ctx, input) => exportPreflight(ctx.requireProject(), input),
  'export.start': (ctx, options) => {
    // Unknown films and folders the export must not write to are refused now rather than failing the job later.
    selectFilmIds(ctx.requireProject().db, options.filmIds);
    checkExportFolder(options.outDir, ctx.requireProject().dir);
    const filmId = options.filmIds.length === 1 ? options.filmIds[0] : null;
    return ctx.jobs.enqueue('export', options, filmId);
  },
  'export.stats': (ctx, { filmIds, includeDrafts }) => datasetStats(selectFilms(ctx.requireProject(), filmIds, includeDrafts)),
  'export.manifest': (_ctx, { outDir, format }) => {
    // A relative path would be read against the server's cwd, not the user's.
    if (!isAbsolute(outDir)) throw new AppError('export_relative_folder', `Export folder "${outDir}" is a relative path; give an absolute path`, { outDir });
    return readManifest(outDir, format);
  },
};
