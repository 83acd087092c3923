import { AppError } from '../../shared/errors';
import type { AreaHandlers } from '../api/handler-types';
import { mutate, mutateAsync } from '../db/mutation';
import { checkTrainingFits } from '../diffusion/memory-estimate';
import {
  ensureStyle, getStyleState, importEmbeddingFile, includedImagePaths, importStyleFolder, listStyleImageInfos, rememberLearnSettings,
  setStyleImageIncluded, STYLE_GENERATE_JOB, STYLE_LEARN_JOB, useEmbedding,
} from './style-service';

/** Handlers of the style.* methods (contract: src/shared/api/methods-style.ts). */
export const styleHandlers: AreaHandlers<
  'style.get' | 'style.importImages' | 'style.generateImages' | 'style.setImageIncluded' | 'style.learn'
  | 'style.useEmbedding' | 'style.importEmbedding'> = {
  'style.get': (ctx, { filmId }) => getStyleState(ctx.requireProject(), filmId),
  'style.importImages': (ctx, { filmId, folder }) => {
    const project = ctx.requireProject();
    return mutateAsync(ctx.writer(), async (m) => {
      const { added, skipped, styleId } = await importStyleFolder(project, filmId, folder);
      m.touch(filmId, { type: 'style', ids: [styleId] });
      return { added, skipped, images: listStyleImageInfos(project, styleId) };
    });
  },
  'style.generateImages': (ctx, { filmId, modelDir, count, seed, steps, width, height }) => {
    const styleId = ensureStyle(ctx.requireProject(), filmId);
    const job = ctx.jobs.enqueue(STYLE_GENERATE_JOB, { filmId, styleId, modelDir, count, seed, steps, width, height }, filmId);
    return { jobId: job.id };
  },
  'style.setImageIncluded': (ctx, { imageId, included }) => {
    const project = ctx.requireProject();
    return mutate(ctx.writer(), (m) => {
      const { image, filmId } = setStyleImageIncluded(project, imageId, included);
      m.touch(filmId, { type: 'style', ids: [] });
      return image;
    });
  },
  'style.learn': (ctx, { filmId, modelDir, settings }) => {
    const project = ctx.requireProject();
    const styleId = ensureStyle(project, filmId);
    if (includedImagePaths(project, styleId).length === 0) {
      throw new AppError('style.no_images', `Film ${filmId}'s style has no included images: import or generate some first`, { filmId, styleId });
    }
    // A training size the machine cannot hold is refused before a job exists (the job checks again when it runs).
    checkTrainingFits(modelDir, { size: settings.size, previews: settings.previewEvery > 0, provider: settings.provider });
    // The last settings used become the form's starting values next time.
    rememberLearnSettings(project, styleId, { modelDir, ...settings });
    const job = ctx.jobs.enqueue(STYLE_LEARN_JOB, { filmId, styleId, modelDir, settings }, filmId);
    return { jobId: job.id };
  },
  'style.useEmbedding': (ctx, { filmId, embeddingId }) => {
    const project = ctx.requireProject();
    return mutate(ctx.writer(), (m) => {
      const result = useEmbedding(project, filmId, embeddingId);
      m.touch(filmId, { type: 'film', ids: [filmId] }, { type: 'style', ids: [] });
      return result;
    });
  },
  'style.importEmbedding': (ctx, { filmId, file }) => {
    const project = ctx.requireProject();
    return mutate(ctx.writer(), (m) => {
      const info = importEmbeddingFile(project, filmId, file);
      m.touch(filmId, { type: 'style', ids: [ensureStyle(project, filmId)] });
      return info;
    });
  },
};
