import { AppError } from '../../shared/errors';
import type { AreaHandlers } from '../api/handler-types';
import { mutate } from '../db/mutation';
import { filmIdOf } from '../story/film-reader';
import { framePrompt } from '../story/frame-prompt';
import { filmFramesInOrder, framesInScope, negativePromptOf, seedFor } from './frames';
import { RENDER_JOB } from './render-job';
import { chooseKeyframe, listRenders } from './render-repo';
import { embeddingSettingValue, resolveEmbeddingFile } from './embedding-path';
import { checkRenderFits } from './render-size';
import { getRenderSettings, renderSettingsView, setRenderSettings } from './settings';
import { renderSettingsProblems } from './settings-check';

/** Handlers of the render.* methods (contract: src/shared/api/methods-render.ts). */
export const renderHandlers: AreaHandlers<
  'render.getSettings' | 'render.setSettings' | 'render.start' | 'render.prompt' | 'render.list' | 'render.chooseKeyframe'> = {
  'render.getSettings': (ctx, { filmId }) => renderSettingsView(getRenderSettings(ctx.requireProject().db, filmId)),
  'render.setSettings': (ctx, { filmId, settings }) => {
    const project = ctx.requireProject();
    const embedding = settings.embedding === undefined ? {} : { embedding: embeddingSettingValue(project, settings.embedding) };
    const next = mutate(ctx.writer(), (m) => {
      const stored = setRenderSettings(m.db, filmId, { ...settings, ...embedding });
      // Only what this save changes is judged (a folder that vanished since does not block saving the steps);
      // throwing here rolls the write back.
      const problems = Object.entries(renderSettingsProblems(stored)).filter(([field]) => field in settings);
      if (problems.length > 0) {
        throw new AppError('render.invalid_settings', problems.map(([, msg]) => msg).join('; '), { fields: Object.fromEntries(problems) });
      }
      m.touch(filmId, { type: 'film', ids: [filmId] });
      return stored;
    });
    return renderSettingsView(next);
  },
  'render.start': (ctx, { filmId, scope, seed, variants, onlyMissing }) => {
    const db = ctx.requireProject().db;
    const settings = getRenderSettings(db, filmId);
    if (!settings.model) {
      throw new AppError('render.no_model', `Film ${filmId} has no render model: set a model folder in its render settings first`, { filmId });
    }
    // The job resolves the embedding again when it runs; checking now refuses a job that cannot start.
    if (settings.embedding) resolveEmbeddingFile(ctx.requireProject(), settings.embedding);
    // Likewise a size the machine cannot hold (unset = the model's native size) is refused before a job exists.
    checkRenderFits(settings);
    const frames = framesInScope(db, filmId, scope);
    if (seed !== undefined && frames.length !== 1) {
      throw new AppError('invalid_input', `seed: an explicit seed is for re-rendering one frame, the scope has ${frames.length}`, { seed });
    }
    if (variants !== undefined && frames.length !== 1) {
      throw new AppError('invalid_input', `variants: a number of variants is for re-rendering one frame, the scope has ${frames.length}`, { variants });
    }
    const job = ctx.jobs.enqueue(RENDER_JOB, { filmId, scope, seed, onlyMissing, settings: variants === undefined ? settings : { ...settings, variants } }, filmId);
    return { jobId: job.id };
  },
  'render.prompt': (ctx, { frameId }) => {
    const db = ctx.requireProject().db;
    const filmId = filmIdOf(db, 'frame', frameId);
    const settings = getRenderSettings(db, filmId);
    const frame = filmFramesInOrder(db, filmId).find((f) => f.frameId === frameId)!;
    return { prompt: framePrompt(db, filmId, frame.description), negativePrompt: negativePromptOf(settings), seed: seedFor(settings, frame.filmIndex, 0) };
  },
  'render.list': (ctx, { frameId }) => listRenders(ctx.requireProject().db, frameId),
  'render.chooseKeyframe': (ctx, { renderId }) => mutate(ctx.writer(), ({ db }) => chooseKeyframe(db, renderId)),
};
