import type { Job } from '../../shared/api/entities';
import { appVersion } from '../app/version';
import { mutate } from '../db/mutation';
import { importStoryJsFile } from '../import/story-js';
import { listJobs } from '../jobs/job-store';
import { editItem, redo, setReview, undo } from '../story/edits';
import { deleteFilm } from '../story/film-writer';
import { itemLabel } from '../story/item-label';
import { withLinesAndQa as itemsWithLinesAndQa } from '../story/review-cascade';
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
  'films.importStoryJs': (ctx, { path, asNew }) => {
    const project = ctx.requireProject();
    return mutate(ctx.writer(), () => importStoryJsFile(project, path, { asNew }));
  },
  'films.delete': (ctx, { filmId }) => mutate(ctx.writer(), ({ db }) => {
    deleteFilm(db, filmId);
    return { deleted: true };
  }),
  'characters.list': (ctx, { filmId }) => listCharacters(ctx.requireProject().db, filmId),

  'frames.update': (ctx, { frameId, ...fields }) => mutate(ctx.writer(), ({ db }) => {
    editItem(db, { type: 'frame', id: frameId, values: defined(fields), label: `Edit ${itemLabel(db, { type: 'frame', id: frameId })}` });
    return getFrame(db, frameId);
  }),
  'dialogue.update': (ctx, { id, ...fields }) => mutate(ctx.writer(), ({ db }) => {
    editItem(db, { type: 'dialogue', id, values: defined(fields), label: `Edit ${itemLabel(db, { type: 'dialogue', id })}` });
    return getDialogueLine(db, id);
  }),
  'qa.update': (ctx, { id, ...fields }) => mutate(ctx.writer(), ({ db }) => {
    editItem(db, { type: 'qa', id, values: defined(fields), label: `Edit ${itemLabel(db, { type: 'qa', id })}` });
    return getQaPair(db, id);
  }),
  'review.set': (ctx, { items, state, note, reason, withLinesAndQa }) => {
    const { updated } = mutate(ctx.writer(), ({ db }) =>
      setReview(db, withLinesAndQa ? itemsWithLinesAndQa(db, items) : items, state, note, reason));
    return { updated };
  },
  'edits.undo': (ctx, { filmId }) => {
    const rec = mutate(ctx.writer(), ({ db }) => undo(db, filmId));
    return { edit: rec && { id: rec.id, label: rec.label, at: rec.at } };
  },
  'edits.redo': (ctx, { filmId }) => {
    const rec = mutate(ctx.writer(), ({ db }) => redo(db, filmId));
    return { edit: rec && { id: rec.id, label: rec.label, at: rec.at } };
  },

  'jobs.list': (ctx): Job[] => listJobs(ctx.requireProject().db),
  'jobs.cancel': (ctx, { jobId }) => ({ cancelled: ctx.jobs.cancel(jobId) }),
  'jobs.resume': (ctx, { jobId, useCurrentSettings }) => {
    const resumed = ctx.jobs.resume(jobId, useCurrentSettings);
    return { resumed, settings: ctx.jobs.describeSettings(jobId) };
  },
} satisfies Partial<HandlerMap>;
