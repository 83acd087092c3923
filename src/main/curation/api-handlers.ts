import type { AreaHandlers } from '../api/handler-types';
import { undoRedoLabels } from '../db/edit-log';
import { mutate } from '../db/mutation';
import { getDialogueLine, getFrame } from '../story/film-reader';
import { framesMatching } from './frame-filters';
import { framesWithFailedRender, requireFilm } from './repo';
import { searchFilm } from './search';
import { deleteDialogue, deleteFrame, insertDialogue, insertFrame, moveDialogue, moveFrame } from './structure-edits';

/** Handlers of the curation.* methods (contract: src/shared/api/methods-curation.ts). */
export const curationHandlers: AreaHandlers<
  'curation.insertFrame' | 'curation.deleteFrame' | 'curation.moveFrame' | 'curation.insertDialogue'
  | 'curation.deleteDialogue' | 'curation.moveDialogue' | 'curation.search' | 'curation.history' | 'curation.frameFilters'> = {
  'curation.insertFrame': (ctx, input) => mutate(ctx.writer(), ({ db }) => getFrame(db, insertFrame(db, input).frameId)),
  'curation.deleteFrame': (ctx, { frameId }) => mutate(ctx.writer(), ({ db }) => {
    deleteFrame(db, frameId);
    return { deleted: true };
  }),
  'curation.moveFrame': (ctx, { frameId, toIndex }) => mutate(ctx.writer(), ({ db }) => {
    moveFrame(db, frameId, toIndex);
    return { moved: true };
  }),
  'curation.insertDialogue': (ctx, input) => mutate(ctx.writer(), ({ db }) => getDialogueLine(db, insertDialogue(db, input).id)),
  'curation.deleteDialogue': (ctx, { id }) => mutate(ctx.writer(), ({ db }) => {
    deleteDialogue(db, id);
    return { deleted: true };
  }),
  'curation.moveDialogue': (ctx, { id, afterFrame, index }) => mutate(ctx.writer(), ({ db }) => {
    moveDialogue(db, id, afterFrame, index);
    return getDialogueLine(db, id);
  }),
  'curation.search': (ctx, { filmId, query, state, type, limit }) => searchFilm(ctx.requireProject().db, filmId, query, state, limit, type),
  'curation.frameFilters': (ctx, { filmId, query }) => {
    const db = ctx.requireProject().db;
    requireFilm(db, filmId);
    return { failedRender: framesWithFailedRender(db, filmId), textMatches: query.trim() ? framesMatching(db, filmId, query) : null };
  },
  'curation.history': (ctx, { filmId }) => undoRedoLabels(ctx.requireProject().db, filmId),
};
