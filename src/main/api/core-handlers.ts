import type { Job } from '../../shared/api/entities';
import { AppError } from '../../shared/errors';
import { appVersion } from '../app/version';
import { importStoryJsFile } from '../import/story-js';
import { listJobs } from '../jobs/job-store';
import { editItem, redo, setReview, touchedEntities, undo } from '../story/edits';
import {
  getDialogueLine, getFilmDetail, getFrame, getQaPair, getStoryboard, getStoryboardItems, listCharacters, listFilms,
} from '../story/film-reader';
import type { HandlerMap } from './handler-types';

/** Handlers of the core methods of src/shared/api/contract.ts (areas have their own maps). */

/** Drops undefined keys so "not given" never overwrites a column. */
function defined<T extends Record<string, unknown>>(obj: T): Record<string, string | number | null> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Record<string, string | number | null>;
}

export const coreHandlers = {
  'app.info': (ctx) => ({ appVersion: appVersion(), mode: ctx.mode, project: ctx.projectInfo() }),

  'project.open': (ctx, { path }) => ctx.openProject(path),
  'project.create': (ctx, { path, sample }) => ctx.createProject(path, sample),
  'project.backup': (ctx, { dest }) => ctx.requireProject().backup(dest),

  'films.list': (ctx) => listFilms(ctx.requireProject().db),
  'films.get': (ctx, { filmId }) => getFilmDetail(ctx.requireProject().db, filmId),
  'films.storyboard': (ctx, { filmId }) => getStoryboard(ctx.requireProject().db, filmId),
  'films.storyboardItems': (ctx, { filmId, ...ids }) => getStoryboardItems(ctx.requireProject().db, filmId, ids),
  'films.importStoryJs': (ctx, { path }) => {
    const report = importStoryJsFile(ctx.requireProject(), path);
    ctx.events.emit('data.changed', { filmId: report.filmId, entities: [{ type: 'film', ids: [report.filmId] }] });
    return report;
  },
  'films.delete': (ctx, { filmId }) => {
    const { changes } = ctx.requireProject().db.prepare('DELETE FROM film WHERE id = ?').run(filmId);
    if (changes === 0) throw new AppError('not_found', `No film with id ${filmId}`, { filmId });
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'film', ids: [filmId] }] });
    return { deleted: true };
  },
  'characters.list': (ctx, { filmId }) => listCharacters(ctx.requireProject().db, filmId),

  'frames.update': (ctx, { frameId, ...fields }) => {
    const db = ctx.requireProject().db;
    const filmId = editItem(db, { type: 'frame', id: frameId, values: defined(fields), label: `Edit frame ${frameId}` });
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'frame', ids: [frameId] }] });
    return getFrame(db, frameId);
  },
  'dialogue.update': (ctx, { id, ...fields }) => {
    const db = ctx.requireProject().db;
    const filmId = editItem(db, { type: 'dialogue', id, values: defined(fields), label: `Edit dialogue line ${id}` });
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'dialogue', ids: [id] }] });
    return getDialogueLine(db, id);
  },
  'qa.update': (ctx, { id, ...fields }) => {
    const db = ctx.requireProject().db;
    const filmId = editItem(db, { type: 'qa', id, values: defined(fields), label: `Edit QA pair ${id}` });
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'qa', ids: [id] }] });
    return getQaPair(db, id);
  },
  'review.set': (ctx, { items, state, note }) => {
    const { updated, byFilm } = setReview(ctx.requireProject().db, items, state, note);
    for (const [filmId, refs] of byFilm) {
      const types = ['frame', 'dialogue', 'qa'] as const;
      ctx.events.emit('data.changed', {
        filmId,
        entities: types.map((type) => ({ type, ids: refs.filter((r) => r.type === type).map((r) => r.id) }))
          .filter((e) => e.ids.length > 0),
      });
    }
    return { updated };
  },
  'edits.undo': (ctx, { filmId }) => {
    const rec = undo(ctx.requireProject().db, filmId);
    if (rec) ctx.events.emit('data.changed', { filmId, entities: touchedEntities(rec.changes) });
    return { edit: rec && { id: rec.id, label: rec.label, at: rec.at } };
  },
  'edits.redo': (ctx, { filmId }) => {
    const rec = redo(ctx.requireProject().db, filmId);
    if (rec) ctx.events.emit('data.changed', { filmId, entities: touchedEntities(rec.changes) });
    return { edit: rec && { id: rec.id, label: rec.label, at: rec.at } };
  },

  'jobs.list': (ctx): Job[] => listJobs(ctx.requireProject().db),
  'jobs.cancel': (ctx, { jobId }) => ({ cancelled: ctx.jobs.cancel(jobId) }),
  'jobs.resume': (ctx, { jobId }) => ({ resumed: ctx.jobs.resume(jobId) }),
} satisfies Partial<HandlerMap>;
