import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { StyleLearnSettings } from '../../shared/api/methods-style';
import { AppError } from '../../shared/errors';
import { mutate, mutateAsync } from '../db/mutation';
import { checkTrainingFits } from '../diffusion/memory-estimate';
import { DiffusionPipeline } from '../diffusion/pipeline/stable-diffusion';
import type { JobContext, JobKind } from '../jobs/runner';
import { storeImage } from '../media/image-store';
import { openPreviewRenderer, type PreviewRenderer } from './previews';
import {
  addStyleImage, filmStyleInfo, includedImagePaths, saveEmbedding, STYLE_GENERATE_JOB, STYLE_LEARN_JOB, styleDir,
  type StyleJobState,
} from './style-service';
import { openTrainingModel, loadTrainingLatents } from './trainer-setup';
import { singleTokenId, trainStyleEmbedding } from './trainer';

/**
 * The two GPU-lane jobs of a film's style: `style.learn` wraps trainStyleEmbedding (checkpoints under
 * assets/styles/<style>/checkpoints/job-<id>, so a cancelled or crashed job continues where it stopped) and
 * records loss history and preview assets in the job's checkpoint; `style.generate` renders style images
 * from the film's style description, one prompt per location.
 */

export const StyleLearnParams = z.object({
  filmId: z.number().int().positive(),
  styleId: z.number().int().positive(),
  modelDir: z.string().min(1),
  settings: StyleLearnSettings,
});
export type StyleLearnParams = z.infer<typeof StyleLearnParams>;

function onnxCacheDir(ctx: JobContext<unknown>): string {
  return join(ctx.project.assetsDir, 'cache', 'onnx');
}

export function styleCheckpointDir(ctx: { project: JobContext<unknown>['project'] }, styleId: number, jobId: number): string {
  return join(styleDir(ctx.project, styleId), 'checkpoints', `job-${jobId}`);
}

async function runLearn(ctx: JobContext<StyleLearnParams>): Promise<void> {
  const { filmId, styleId, modelDir, settings } = ctx.params;
  const { keyword } = filmStyleInfo(ctx.project, filmId);
  const images = includedImagePaths(ctx.project, styleId);
  if (images.length === 0) {
    throw new AppError('style.no_images', `Film ${filmId}'s style has no included images: import or generate some first`, { filmId, styleId });
  }
  const previous = (ctx.checkpoint ?? null) as StyleJobState | null;
  const state: StyleJobState = {
    losses: previous?.losses ?? [], previews: previous?.previews ?? [], totalSteps: previous?.totalSteps ?? null, embeddingId: null,
  };
  const cacheDir = onnxCacheDir(ctx);
  const size = settings.size ? { width: settings.size, height: settings.size } : undefined;
  // A size the provider cannot hold is refused before anything loads (a conservative estimate: training keeps activations).
  checkTrainingFits(modelDir, { size: settings.size, previews: settings.previewEvery > 0, provider: settings.provider });
  const model = await openTrainingModel(modelDir, { cacheDir, provider: settings.provider, size, threads: settings.threads });
  let previews: PreviewRenderer | undefined;
  const previewDir = mkdtempSync(join(tmpdir(), 'dreamframe-preview-'));
  try {
    model.encoders.forEach((e, i) => singleTokenId(e.tokenizer, keyword, i === 0 ? 'tokenizer' : `tokenizer_${i + 1}`));
    if (settings.previewEvery > 0) {
      previews = await openPreviewRenderer(modelDir, {
        outDir: previewDir, cacheDir, steps: settings.previewSteps, size: model.size, provider: settings.provider, threads: settings.threads,
      });
    }
    ctx.progress(state.totalSteps ? (state.losses.at(-1)?.step ?? 0) / state.totalSteps : 0, `encoding ${images.length} image(s)`);
    const { latents } = await loadTrainingLatents(modelDir, images, { cacheDir, size: model.size, provider: settings.provider, scalingFactor: model.scalingFactor });
    const renderer = previews;
    const result = await trainStyleEmbedding({ ...model, latents }, {
      keyword,
      steps: settings.steps,
      lrSchedule: settings.lrSchedule,
      accumulation: settings.accumulation,
      batchSize: settings.batchSize,
      seed: settings.seed,
      init: settings.init === 'random' ? { kind: 'random' } : { kind: 'token', token: settings.init },
      templates: settings.templates,
      checkpointDir: styleCheckpointDir(ctx, styleId, ctx.jobId),
      checkpointEvery: settings.checkpointEvery,
      resume: true,
      signal: ctx.signal,
      snapshotEvery: renderer ? settings.previewEvery : 0,
      onSnapshot: renderer
        ? async (step, embedding) => {
            const file = await renderer.render(step, embedding);
            const stored = await storeImage(ctx.project, readFileSync(file), 'image/png');
            state.previews = [...state.previews.filter((p) => p.step < step), { step, sha256: stored.sha256 }];
            ctx.saveCheckpoint(state);
          }
        : undefined,
      onProgress: (p) => {
        // A resumed run repeats the steps after the trainer's last checkpoint: drop their old points.
        state.losses = [...state.losses.filter((l) => l.step < p.step), { step: p.step, loss: p.loss }];
        state.totalSteps = p.totalSteps;
        ctx.saveCheckpoint(state);
        // No ETA of its own in the message: the job's etaSeconds is the one ETA the panel and the jobs view show.
        ctx.progress(p.step / p.totalSteps, `step ${p.step}/${p.totalSteps} · loss ${p.loss.toFixed(5)}`);
      },
    });
    if (result.cancelled) return;
    state.losses = result.losses.map((l) => ({ step: l.step, loss: l.loss }));
    mutate({ db: ctx.project.db, events: ctx.events }, (m) => {
      const saved = saveEmbedding(ctx.project, styleId, `job-${ctx.jobId}-step-${result.steps}`, result.embedding);
      state.embeddingId = saved.id;
      ctx.saveCheckpoint(state);
      m.touch(filmId, { type: 'style', ids: [styleId] });
    });
  } finally {
    await previews?.release();
    await model.release();
    rmSync(previewDir, { recursive: true, force: true });
  }
}

export const styleLearnJobKind: JobKind<StyleLearnParams> = {
  kind: STYLE_LEARN_JOB,
  lane: 'gpu',
  params: StyleLearnParams,
  run: runLearn,
};

export const StyleGenerateParams = z.object({
  filmId: z.number().int().positive(),
  styleId: z.number().int().positive(),
  modelDir: z.string().min(1),
  count: z.number().int().min(1),
  seed: z.number().int().min(0),
  steps: z.number().int().min(1),
  width: z.number().int().min(8).optional(),
  height: z.number().int().min(8).optional(),
});
export type StyleGenerateParams = z.infer<typeof StyleGenerateParams>;

/** Prompt i: "<style description>, <location i mod n>" (the description alone when the film has no locations). */
export function styleImagePrompts(description: string, locations: string[], count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    locations.length ? `${description}, ${locations[i % locations.length]}` : description);
}

async function runGenerate(ctx: JobContext<StyleGenerateParams>): Promise<void> {
  const { filmId, styleId, modelDir, count, seed, steps, width, height } = ctx.params;
  const { description, locations } = filmStyleInfo(ctx.project, filmId);
  const prompts = styleImagePrompts(description, locations, count);
  let done = (ctx.checkpoint as { done?: number } | null)?.done ?? 0;
  const pipeline = await DiffusionPipeline.load(modelDir);
  try {
    for (; done < count; done++) {
      if (ctx.signal.aborted) return;
      ctx.progress(done / count, `image ${done + 1}/${count}`);
      const result = await pipeline.generate({ prompt: prompts[done], seed: seed + done, steps, width, height, signal: ctx.signal });
      if (ctx.signal.aborted) return;
      await mutateAsync({ db: ctx.project.db, events: ctx.events }, async (m) => {
        await addStyleImage(ctx.project, styleId, result.images[0], 'image/png', 'generated');
        ctx.saveCheckpoint({ done: done + 1 });
        m.touch(filmId, { type: 'style', ids: [styleId] });
      });
    }
  } finally {
    await pipeline.release();
  }
}

export const styleGenerateJobKind: JobKind<StyleGenerateParams> = {
  kind: STYLE_GENERATE_JOB,
  lane: 'gpu',
  params: StyleGenerateParams,
  run: runGenerate,
};
