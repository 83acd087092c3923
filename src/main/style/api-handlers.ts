import { AppError } from '../../shared/errors';
import type { HandlerMap } from '../api/handler-types';
import type { AppContext } from '../app/context';
import {
  ensureStyle, getStyleState, importEmbeddingFile, includedImagePaths, importStyleFolder, listStyleImageInfos, setStyleImageIncluded,
  STYLE_GENERATE_JOB, STYLE_LEARN_JOB, useEmbedding,
} from './style-service';

/** Handlers of the style.* methods (contract: src/shared/api/methods-style.ts). */

function changed(ctx: AppContext, filmId: number, styleId: number): void {
  ctx.events.emit('data.changed', { filmId, entities: [{ type: 'style', ids: [styleId] }] });
}

export const styleHandlers: Pick<HandlerMap,
  'style.get' | 'style.importImages' | 'style.generateImages' | 'style.setImageIncluded' | 'style.learn'
  | 'style.useEmbedding' | 'style.importEmbedding'> = {
  'style.get': (ctx, { filmId }) => getStyleState(ctx.requireProject(), filmId),
  'style.importImages': async (ctx, { filmId, folder }) => {
    const project = ctx.requireProject();
    const { added, skipped, styleId } = await importStyleFolder(project, filmId, folder);
    changed(ctx, filmId, styleId);
    return { added, skipped, images: listStyleImageInfos(project, styleId) };
  },
  'style.generateImages': (ctx, { filmId, modelDir, count, seed, steps, width, height }) => {
    const styleId = ensureStyle(ctx.requireProject(), filmId);
    const job = ctx.jobs.enqueue(STYLE_GENERATE_JOB, { filmId, styleId, modelDir, count, seed, steps, width, height }, filmId);
    return { jobId: job.id };
  },
  'style.setImageIncluded': (ctx, { imageId, included }) => {
    const { image, filmId } = setStyleImageIncluded(ctx.requireProject(), imageId, included);
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'style', ids: [] }] });
    return image;
  },
  'style.learn': (ctx, { filmId, modelDir, settings }) => {
    const project = ctx.requireProject();
    const styleId = ensureStyle(project, filmId);
    if (includedImagePaths(project, styleId).length === 0) {
      throw new AppError('style.no_images', `Film ${filmId}'s style has no included images: import or generate some first`, { filmId, styleId });
    }
    // The last settings used become the form's starting values next time.
    project.db.prepare('UPDATE style SET settings_json = ? WHERE id = ?').run(JSON.stringify({ modelDir, ...settings }), styleId);
    const job = ctx.jobs.enqueue(STYLE_LEARN_JOB, { filmId, styleId, modelDir, settings }, filmId);
    return { jobId: job.id };
  },
  'style.useEmbedding': (ctx, { filmId, embeddingId }) => {
    const result = useEmbedding(ctx.requireProject(), filmId, embeddingId);
    ctx.events.emit('data.changed', { filmId, entities: [{ type: 'film', ids: [filmId] }, { type: 'style', ids: [] }] });
    return result;
  },
  'style.importEmbedding': (ctx, { filmId, file }) => {
    const project = ctx.requireProject();
    const info = importEmbeddingFile(project, filmId, file);
    changed(ctx, filmId, ensureStyle(project, filmId));
    return info;
  },
};
