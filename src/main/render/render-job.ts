import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { z } from 'zod';
import { RenderScope, RenderSettings } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';
import { unfinishedJobs } from '../jobs/job-store';
import type { JobContext, JobKind } from '../jobs/runner';
import { mutate } from '../db/mutation';
import { filmKeyword, framePrompt, framesInScope, negativePromptOf, seedFor } from './frames';
import { resolveEmbeddingFile } from './embedding-path';
import { returnFramesToReview } from '../story/review-return';
import { storeImage } from '../media/image-store';
import { loadKeyframeRenderer, type KeyframeRenderer, type RendererContext } from './keyframe-renderer';
import {
  frameDescription, hasFreshKeyframe, insertFailedRender, insertFrameRenders, type RenderRun,
} from './render-repo';
import { checkRenderFits } from './render-size';
import { getRenderSettings } from './settings';

/**
 * Job kind "render.keyframes": renders the frames of a scope, in film order, on the GPU lane.
 * The frame list is fixed in the checkpoint on the first run; each finished frame is written
 * (render rows, keyframe choice, stale flag, checkpoint) in one transaction, so a job stopped at
 * any moment resumes with the next unfinished frame and never renders a finished one twice.
 * Before loading the model the size is resolved (unset = the model's native size) and checked against the
 * memory it needs; frames failing one after another with the same error stop the job after FAIL_FAST_FRAMES.
 */

export const RENDER_JOB = 'render.keyframes';

export const RenderJobParams = z.object({
  filmId: z.number().int().positive(),
  scope: RenderScope,
  /** Explicit seed for a single-frame re-render (variant v adds v × 100003). */
  seed: z.number().int().min(0).optional(),
  onlyMissing: z.boolean().default(false),
  /** Settings captured when the job was queued, so a resumed job renders like it started. */
  settings: RenderSettings,
  /** Memory limit for the size check (GiB; render-film --max-memory); default: the machine's RAM. */
  maxMemoryGiB: z.number().positive().optional(),
});
export type RenderJobParams = z.infer<typeof RenderJobParams>;

/** The newest unfinished render job with exactly these parameters, to continue instead of starting over. */
export function findResumableRenderJob(db: Database.Database, params: RenderJobParams): number | null {
  const wanted = JSON.stringify(RenderJobParams.parse(params));
  const hit = unfinishedJobs(db, RENDER_JOB, params.filmId).reverse()
    .find((j) => JSON.stringify(RenderJobParams.parse(j.params)) === wanted);
  return hit?.id ?? null;
}

export interface RenderCheckpoint { frames: { frameId: number; filmIndex: number }[]; done: number[]; failed: number[] }

export type RendererFactory = (settings: RenderSettings, context: RendererContext) => Promise<KeyframeRenderer>;

/** This many frames in a row failing with the same message stop the job: the rest would fail alike. */
export const FAIL_FAST_FRAMES = 3;

function isCancel(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (err instanceof AppError && err.code === 'diffusion.cancelled');
}

/** The job's frame list, fixed in the checkpoint on its first run (shared with the render farm's coordinator). */
export function renderCheckpoint(ctx: JobContext<RenderJobParams>): RenderCheckpoint {
  const { db } = ctx.project;
  const { filmId } = ctx.params;
  let cp = ctx.checkpoint as RenderCheckpoint | null;
  if (!cp) {
    let frames = framesInScope(db, filmId, ctx.params.scope);
    if (ctx.params.onlyMissing) {
      frames = frames.filter((f) => !hasFreshKeyframe(db, f.frameId));
    }
    cp = { frames: frames.map(({ frameId, filmIndex }) => ({ frameId, filmIndex })), done: [], failed: [] };
    ctx.saveCheckpoint(cp);
  }
  return cp;
}

/** What became of one frame: its images (content-addressed already) or the error that stopped it. */
export interface FrameOutcome {
  frameId: number;
  prompt: string;
  model: string;
  images: { variant: number; seed: number; sha256: string }[];
  error: unknown;
}

/**
 * Writes one frame in one transaction — its render rows (variant 0 becomes the keyframe) or its failed row, the
 * stale flag and the checkpoint — and announces it (data.changed). Local rendering and the render farm both write here.
 */
export function recordFrame(ctx: JobContext<RenderJobParams>, cp: RenderCheckpoint, done: Set<number>, failed: number[], outcome: FrameOutcome): void {
  const { db } = ctx.project;
  const { filmId, settings } = ctx.params;
  const { frameId, prompt, images, error } = outcome;
  const run: RenderRun = { model: outcome.model, prompt, settingsJson: JSON.stringify(settings), jobId: ctx.jobId };
  // One transaction; data.changed for the frame and its renders goes out after the commit (db/mutation.ts).
  mutate({ db, events: ctx.events }, (m) => {
    let renderIds: number[];
    if (error) {
      renderIds = [insertFailedRender(db, frameId, images.length, run, errorMessage(error))];
      failed.push(frameId);
    } else {
      renderIds = insertFrameRenders(db, frameId, images, run);
      // A new picture is not the one that was approved.
      returnFramesToReview(db, [frameId], 'new keyframe rendered');
      done.add(frameId);
    }
    ctx.saveCheckpoint({ ...cp, done: [...done], failed });
    m.touch(filmId, { type: 'frame', ids: [frameId] }, { type: 'render', ids: renderIds });
  });
}

export async function runRenderJob(ctx: JobContext<RenderJobParams>, loadRenderer: RendererFactory): Promise<void> {
  const { db } = ctx.project;
  const { filmId } = ctx.params;
  const cp = renderCheckpoint(ctx);
  const done = new Set(cp.done);
  // A retry (resume after failure) renders the failed frames again.
  const failed: number[] = [];
  const total = cp.frames.length;
  const todo = cp.frames.filter((f) => !done.has(f.frameId));
  if (todo.length === 0) {
    ctx.progress(1, `${total} frame(s) rendered`);
    return;
  }
  // The size this job renders at (unset = the model's native size), refused here when it cannot fit.
  const size = checkRenderFits(ctx.params.settings, { maxMemoryGiB: ctx.params.maxMemoryGiB });
  const settings: RenderSettings = { ...ctx.params.settings, ...size };
  ctx.progress(done.size / Math.max(total, 1), `Loading model ${settings.model}`);
  // The settings may name the embedding relative to the project folder: resolve it where the project is now.
  const embedding = settings.embedding ? resolveEmbeddingFile(ctx.project, settings.embedding) : null;
  const renderer = await loadRenderer({ ...settings, embedding },
    { keyword: filmKeyword(db, filmId), cacheDir: join(ctx.project.assetsDir, 'cache', 'onnx') });
  const negative = negativePromptOf(settings);
  let repeated = { message: '', frames: 0 };
  try {
    for (const f of todo) {
      if (ctx.signal.aborted) return;
      const description = frameDescription(db, f.frameId);
      const ordinal = done.size + failed.length + 1;
      if (description === undefined) {
        // Deleted since the job was queued: nothing to render.
        done.add(f.frameId);
        ctx.saveCheckpoint({ ...cp, done: [...done], failed });
        continue;
      }
      const prompt = framePrompt(db, filmId, description);
      const images: { variant: number; seed: number; sha256: string }[] = [];
      let error: unknown = null;
      for (let v = 0; v < settings.variants; v++) {
        const seed = ctx.params.seed !== undefined ? (ctx.params.seed + v * 100_003) % 2 ** 32 : seedFor(settings, f.filmIndex, v);
        try {
          const png = await renderer.render({
            prompt, negativePrompt: negative, seed, signal: ctx.signal,
            onStep: (step, steps) => ctx.progress(
              (done.size + failed.length + (v + step / steps) / settings.variants) / total,
              `Frame ${ordinal}/${total} · variant ${v + 1}/${settings.variants} · step ${step}/${steps}`),
          });
          const stored = await storeImage(ctx.project, png, 'image/png');
          images.push({ variant: v, seed, sha256: stored.sha256 });
        } catch (err) {
          if (isCancel(err, ctx.signal)) return;
          error = err;
          break;
        }
      }
      recordFrame(ctx, cp, done, failed, { frameId: f.frameId, prompt, model: renderer.model, images, error });
      ctx.progress((done.size + failed.length) / total, `Frame ${ordinal}/${total} ${error ? 'failed' : 'rendered'}`);
      const message = error ? errorMessage(error) : '';
      repeated = error ? { message, frames: repeated.message === message ? repeated.frames + 1 : 1 } : { message: '', frames: 0 };
      const left = total - done.size - failed.length;
      if (repeated.frames >= FAIL_FAST_FRAMES && left > 0) throw stoppedEarly(error, repeated.frames, failed, left);
    }
  } finally {
    await renderer.release();
  }
  if (failed.length > 0) {
    throw new AppError('render.frames_failed', `${failed.length} of ${total} frame(s) failed to render (frame ids ${failed.slice(0, 20).join(', ')}${failed.length > 20 ? ', …' : ''}); resume the job to retry them`,
      { failed });
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The job's error when frames keep failing alike: that error, saying how many frames failed and how many were not tried. */
function stoppedEarly(error: unknown, frames: number, failed: number[], left: number): AppError {
  const message = `${errorMessage(error)} (the last ${frames} frames all failed with this error, so the job stopped; ` +
    `${left} frame(s) not tried; resume the job to retry)`;
  return new AppError(error instanceof AppError ? error.code : 'render.frames_failed', message, { failed, notTried: left });
}

/**
 * Renders a job on the render farm when one is configured for this process (src/main/farm): returns the run,
 * or null to render here. Injected by the composition root so render/ does not depend on farm/.
 */
export type FarmRoute = (ctx: JobContext<RenderJobParams>) => Promise<void> | null;

export function renderJobKind(loadRenderer: RendererFactory = loadKeyframeRenderer, farm?: FarmRoute): JobKind<RenderJobParams> {
  return {
    kind: RENDER_JOB,
    lane: 'gpu',
    params: RenderJobParams,
    run: (ctx) => farm?.(ctx) ?? runRenderJob(ctx, loadRenderer),
    // "Retry with current settings": the film's settings now, keeping the job's own number of variants
    // (a single-frame re-render with N seeds stays N).
    withCurrentSettings: (project, params) => ({
      ...params, settings: { ...getRenderSettings(project.db, params.filmId), variants: params.settings.variants },
    }),
    describeSettings: ({ settings: s }) => `model ${s.model || '(none)'}, ${s.width ?? 'native'}×${s.height ?? 'native'}, ` +
      `${s.steps} steps, ${s.scheduler}, guidance ${s.guidance}${s.embedding ? `, embedding ${s.embedding}` : ''}`,
  };
}
