import type { RenderInfo } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';
import type { HandlerMap } from '../api/handler-types';
import type { AppContext } from '../app/context';
import { getDialogueLine, getFrame } from '../story/film-reader';
import { undoRedoLabels } from '../story/edit-history';
import {
  deleteDialogue, deleteFrame, insertDialogue, insertFrame, moveDialogue, moveFrame,
} from '../story/structure-edits';
import { filmFramesInOrder, framePrompt, framesInScope, negativePromptOf, seedFor } from './frames';
import { RENDER_JOB } from './render-job';
import { searchFilm } from './search';
import { embeddingSettingValue, resolveEmbeddingFile } from './embedding-path';
import { getRenderSettings, setRenderSettings } from './settings';

/** Handlers of the render.* and curation.* methods (contract: src/shared/api/methods-render.ts, methods-curation.ts). */

interface RenderRow {
  id: number; frame_id: number; variant: number; status: RenderInfo['status']; seed: number; model: string; prompt: string;
  is_keyframe: number; asset_sha256: string | null; error: string | null; job_id: number | null; created_at: string;
}

function renderFromRow(r: RenderRow): RenderInfo {
  return {
    id: r.id, frameId: r.frame_id, variant: r.variant, status: r.status, seed: r.seed, model: r.model, prompt: r.prompt,
    isKeyframe: r.is_keyframe === 1, assetSha256: r.asset_sha256, error: r.error, jobId: r.job_id, createdAt: r.created_at,
  };
}

function filmOfFrame(ctx: AppContext, frameId: number): number {
  const row = ctx.requireProject().db.prepare(`SELECT c.film_id AS f FROM frame fr JOIN subchapter s ON s.id = fr.subchapter_id
    JOIN chapter c ON c.id = s.chapter_id WHERE fr.id = ?`).get(frameId) as { f: number } | undefined;
  if (!row) throw new AppError('not_found', `No frame with id ${frameId}`, { frameId });
  return row.f;
}

export const renderHandlers: Pick<HandlerMap,
  'render.getSettings' | 'render.setSettings' | 'render.start' | 'render.prompt' | 'render.list' | 'render.chooseKeyframe'
  | 'curation.insertFrame' | 'curation.deleteFrame' | 'curation.moveFrame' | 'curation.insertDialogue'
  | 'curation.deleteDialogue' | 'curation.moveDialogue' | 'curation.search' | 'curation.history'> = {
  'render.getSettings': (ctx, { filmId }) => getRenderSettings(ctx.requireProject().db, filmId),
  'render.setSettings': (ctx, { filmId, settings }) => {
    const project = ctx.requireProject();
    const embedding = settings.embedding === undefined ? {} : { embedding: embeddingSettingValue(project, settings.embedding) };
    const next = setRenderSettings(project.db, filmId, { ...settings, ...embedding });
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'film', ids: [filmId] }] });
    return next;
  },
  'render.start': (ctx, { filmId, scope, seed, onlyMissing }) => {
    const db = ctx.requireProject().db;
    const settings = getRenderSettings(db, filmId);
    if (!settings.model) {
      throw new AppError('render.no_model', `Film ${filmId} has no render model: set a model folder in its render settings first`, { filmId });
    }
    // The job resolves the embedding again when it runs; checking now refuses a job that cannot start.
    if (settings.embedding) resolveEmbeddingFile(ctx.requireProject(), settings.embedding);
    const frames = framesInScope(db, filmId, scope);
    if (seed !== undefined && frames.length !== 1) {
      throw new AppError('invalid_input', `seed: an explicit seed is for re-rendering one frame, the scope has ${frames.length}`, { seed });
    }
    const job = ctx.jobs.enqueue(RENDER_JOB, { filmId, scope, seed, onlyMissing, settings }, filmId);
    return { jobId: job.id };
  },
  'render.prompt': (ctx, { frameId }) => {
    const db = ctx.requireProject().db;
    const filmId = filmOfFrame(ctx, frameId);
    const settings = getRenderSettings(db, filmId);
    const frame = filmFramesInOrder(db, filmId).find((f) => f.frameId === frameId)!;
    return { prompt: framePrompt(db, filmId, frame.description), negativePrompt: negativePromptOf(settings), seed: seedFor(settings, frame.filmIndex, 0) };
  },
  'render.list': (ctx, { frameId }) => {
    filmOfFrame(ctx, frameId);
    const rows = ctx.requireProject().db.prepare('SELECT * FROM render WHERE frame_id = ? ORDER BY id DESC').all(frameId) as RenderRow[];
    return rows.map(renderFromRow);
  },
  'render.chooseKeyframe': (ctx, { renderId }) => {
    const db = ctx.requireProject().db;
    const row = db.prepare('SELECT * FROM render WHERE id = ?').get(renderId) as RenderRow | undefined;
    if (!row) throw new AppError('not_found', `No render with id ${renderId}`, { renderId });
    if (row.status !== 'done') throw new AppError('render.not_done', `Render ${renderId} is ${row.status}, only finished renders can be the keyframe`, { renderId });
    db.transaction(() => {
      db.prepare('UPDATE render SET is_keyframe = 0 WHERE frame_id = ? AND is_keyframe = 1').run(row.frame_id);
      db.prepare('UPDATE render SET is_keyframe = 1 WHERE id = ?').run(renderId);
    })();
    ctx.events.emit('data.changed', { filmId: filmOfFrame(ctx, row.frame_id), entities: [{ type: 'frame', ids: [row.frame_id] }, { type: 'render', ids: [renderId] }] });
    return renderFromRow({ ...row, is_keyframe: 1 });
  },

  'curation.insertFrame': (ctx, input) => {
    const db = ctx.requireProject().db;
    const { filmId, frameId } = insertFrame(db, input);
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'subchapter', ids: [input.subchapterId] }, { type: 'frame', ids: [frameId] }] });
    return getFrame(db, frameId);
  },
  'curation.deleteFrame': (ctx, { frameId }) => {
    const { filmId } = deleteFrame(ctx.requireProject().db, frameId);
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'frame', ids: [frameId] }] });
    return { deleted: true };
  },
  'curation.moveFrame': (ctx, { frameId, toIndex }) => {
    const { filmId } = moveFrame(ctx.requireProject().db, frameId, toIndex);
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'frame', ids: [frameId] }] });
    return { moved: true };
  },
  'curation.insertDialogue': (ctx, input) => {
    const db = ctx.requireProject().db;
    const { filmId, id } = insertDialogue(db, input);
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'dialogue', ids: [id] }] });
    return getDialogueLine(db, id);
  },
  'curation.deleteDialogue': (ctx, { id }) => {
    const { filmId } = deleteDialogue(ctx.requireProject().db, id);
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'dialogue', ids: [id] }] });
    return { deleted: true };
  },
  'curation.moveDialogue': (ctx, { id, afterFrame, index }) => {
    const db = ctx.requireProject().db;
    const { filmId } = moveDialogue(db, id, afterFrame, index);
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'dialogue', ids: [id] }] });
    return getDialogueLine(db, id);
  },
  'curation.search': (ctx, { filmId, query, state, type, limit }) => searchFilm(ctx.requireProject().db, filmId, query, state, limit, type),
  'curation.history': (ctx, { filmId }) => undoRedoLabels(ctx.requireProject().db, filmId),
};
