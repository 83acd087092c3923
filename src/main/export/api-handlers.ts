import type { HandlerMap } from '../api/handler-types';
import { readManifest, selectFilms } from './exporter';
import { selectFilmIds } from './selection';
import { datasetStats } from './stats';

/** Handlers of the export methods (src/shared/api/methods-export.ts). */
export const exportHandlers: Pick<HandlerMap, 'export.start' | 'export.stats' | 'export.manifest'> = {
  'export.start': (ctx, options) => {
    // Unknown films are refused now rather than failing the job later.
    selectFilmIds(ctx.requireProject().db, options.filmIds);
    const filmId = options.filmIds.length === 1 ? options.filmIds[0] : null;
    return ctx.jobs.enqueue('export', options, filmId);
  },
  'export.stats': (ctx, { filmIds, includeDrafts }) => datasetStats(selectFilms(ctx.requireProject(), filmIds, includeDrafts)),
  'export.manifest': (_ctx, { outDir, format }) => readManifest(outDir, format),
};
