import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Job } from '../../src/shared/api/entities';
import { createProjectWithSample } from '../../src/main/app/context';
import { EventBus } from '../../src/main/app/event-bus';
import { DiffusionPipeline } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner } from '../../src/main/jobs/runner';
import { readStoredImage } from '../../src/main/media/image-store';
import { getRenderSettings } from '../../src/main/render/settings';
import { listFilms } from '../../src/main/story/film-reader';
import { readEmbeddingFile } from '../../src/main/style/formats/index';
import { styleCheckpointDir, styleGenerateJobKind, styleImagePrompts, styleLearnJobKind } from '../../src/main/style/style-job';
import {
  ensureStyle, filmStyleInfo, getStyleState, importStyleFolder, setStyleImageIncluded, STYLE_GENERATE_JOB, STYLE_LEARN_JOB, styleJobInfo, useEmbedding,
} from '../../src/main/style/style-service';
import { dreamframeFixtureDir, tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

const modelDir = join(tinySd15Dir, 'pipeline');
// Fixed thread count: ORT CPU results are then bit-reproducible, which the resume comparison relies on.
const settings = {
  steps: 3, lrSchedule: '1e-2:1, 5e-3', accumulation: 1, batchSize: 1, seed: 3, init: 'random',
  previewEvery: 0, previewSteps: 2, checkpointEvery: 1, threads: 1,
};

describe('style jobs on tiny-sd15', () => {
  const tmp = useTempDir();

  it('imports images, learns through the job runner, resumes a cancelled run to the same embedding, and uses it for rendering', async () => {
    const dir = tmp();
    const project = createProjectWithSample(join(dir, 'project'), true);
    const events = new EventBus();
    const runner = new JobRunner(project, events, [styleLearnJobKind], 0);
    try {
      const filmId = listFilms(project.db)[0].id;
      const images = join(dir, 'images');
      mkdirSync(images);
      for (const f of ['Cathedral0.jpg', 'TownSquare3.jpg']) copyFileSync(join(dreamframeFixtureDir, 'style', f), join(images, f));
      const imported = await importStyleFolder(project, filmId, images);
      expect(imported).toMatchObject({ added: 2, skipped: 0 });
      // Importing the same folder again adds nothing (content-addressed).
      expect(await importStyleFolder(project, filmId, images)).toMatchObject({ added: 0, skipped: 2 });
      const state0 = getStyleState(project, filmId);
      expect(state0.keyword).toBe(filmStyleInfo(project, filmId).keyword);
      expect(state0.images.map((i) => readStoredImage(project, i.sha256)))
        .toEqual([readFileSync(join(images, 'Cathedral0.jpg')), readFileSync(join(images, 'TownSquare3.jpg'))]);

      // Uninterrupted run, with a preview at the last step.
      const messages: string[] = [];
      const offMessages = events.onAny((event, payload) => { if (event === 'job.progress' && (payload as Job).message) messages.push((payload as Job).message!); });
      const a = runner.enqueue(STYLE_LEARN_JOB, { filmId, styleId: imported.styleId, modelDir, settings: { ...settings, previewEvery: 3 } }, filmId);
      await runner.whenIdle();
      offMessages();
      // One ETA (the job's etaSeconds, as every job has): the step message carries none of its own (#17 defect 8).
      expect(messages.filter((m) => m.startsWith('step ')).length).toBeGreaterThan(0);
      expect(messages.filter((m) => /ETA/.test(m))).toEqual([]);
      expect(getJob(project.db, a.id)).toMatchObject({ status: 'done', progress: 1 });
      const infoA = styleJobInfo(project, a.id)!;
      expect(infoA.losses.map((l) => l.step)).toEqual([1, 2, 3]);
      expect(infoA.previews).toHaveLength(1);
      expect(readStoredImage(project, infoA.previews[0].sha256).subarray(1, 4).toString()).toBe('PNG');
      const state = getStyleState(project, filmId);
      expect(state.embeddings).toHaveLength(1);
      const row = state.embeddings[0];
      expect(row.id).toBe(infoA.embeddingId);
      const fileA = readEmbeddingFile(row.file).embedding;
      expect(fileA).toMatchObject({ keyword: state.keyword, steps: 3 });
      expect(row).toMatchObject({ steps: 3, active: false });
      expect(row.loss).toBeCloseTo(fileA.loss!, 10);

      // Second run: cancelled after its first step, then resumed.
      let b: Job | undefined;
      const off = events.onAny((event, payload) => {
        const job = payload as Job;
        if (event === 'job.progress' && b && job.id === b.id && job.status === 'running' && job.message?.startsWith('step 1/')) runner.cancel(b.id);
      });
      b = runner.enqueue(STYLE_LEARN_JOB, { filmId, styleId: imported.styleId, modelDir, settings }, filmId);
      await runner.whenIdle();
      off();
      expect(getJob(project.db, b.id)!.status).toBe('cancelled');
      const partial = styleJobInfo(project, b.id)!;
      expect(partial.embeddingId).toBeNull();
      expect(partial.losses.length).toBeLessThan(3);
      // The trainer's checkpoint under the project is where the resumed run continues from.
      const saved = JSON.parse(readFileSync(join(styleCheckpointDir({ project }, imported.styleId, b.id), 'checkpoint.json'), 'utf8'));
      expect(saved.step).toBeGreaterThanOrEqual(1);
      expect(saved.step).toBe(partial.losses.length);
      expect(runner.resume(b.id)).toBe(true);
      await runner.whenIdle();
      expect(getJob(project.db, b.id)!.status).toBe('done');
      const infoB = styleJobInfo(project, b.id)!;
      expect(infoB.losses).toEqual(infoA.losses);
      const fileB = readEmbeddingFile(getStyleState(project, filmId).embeddings.find((e) => e.id === infoB.embeddingId)!.file).embedding;
      expect(Array.from(fileB.vectors[0].data)).toEqual(Array.from(fileA.vectors[0].data));

      // Third run: the app stops mid-run (as at a crash/quit); a new runner on start re-queues and finishes it.
      let c: Job | undefined;
      let stopped: (p: Promise<void>) => void = () => {};
      const stopping = new Promise<void>((r) => { stopped = r; });
      let asked = false;
      const offC = events.onAny((event, payload) => {
        const job = payload as Job;
        if (!asked && event === 'job.progress' && c && job.id === c.id && job.message?.startsWith('step 1/')) {
          asked = true;
          stopped(runner.stop());
        }
      });
      c = runner.enqueue(STYLE_LEARN_JOB, { filmId, styleId: imported.styleId, modelDir, settings }, filmId);
      // A stopped runner never reports idle; its stop() resolves once the aborted job has returned.
      await stopping;
      offC();
      expect(getJob(project.db, c.id)!.status).toBe('running');
      const restarted = new JobRunner(project, events, [styleLearnJobKind], 0);
      restarted.start();
      await restarted.whenIdle();
      expect(getJob(project.db, c.id)!.status).toBe('done');
      const infoC = styleJobInfo(project, c.id)!;
      expect(infoC.losses).toEqual(infoA.losses);
      const fileC = readEmbeddingFile(getStyleState(project, filmId).embeddings.find((e) => e.id === infoC.embeddingId)!.file).embedding;
      expect(Array.from(fileC.vectors[0].data)).toEqual(Array.from(fileA.vectors[0].data));
      await restarted.stop();

      // Excluding an image changes what the next training sees.
      expect(setStyleImageIncluded(project, state0.images[1].id, false).image.included).toBe(false);
      expect(getStyleState(project, filmId).images.map((i) => i.included)).toEqual([true, false]);

      // Using the embedding points the film's render settings at its file.
      expect(useEmbedding(project, filmId, row.id)).toEqual({ activeEmbeddingId: row.id, renderEmbedding: row.file });
      // … by a path relative to the project folder, so a moved project still finds it.
      const stored = getRenderSettings(project.db, filmId).embedding!;
      expect(stored).toMatch(/^assets\/styles\/\d+\/embeddings\/[^/]+\.safetensors$/);
      expect(join(project.dir, stored)).toBe(row.file);
      expect(getStyleState(project, filmId).activeEmbeddingId).toBe(row.id);
      useEmbedding(project, filmId, null);
      expect(getRenderSettings(project.db, filmId).embedding).toBeNull();
    } finally {
      await runner.stop();
      project.close();
    }
  }, 120_000);

  it('generates style images from the description, one location per prompt, as the pipeline renders them', async () => {
    const dir = tmp();
    const project = createProjectWithSample(join(dir, 'project'), true);
    const runner = new JobRunner(project, new EventBus(), [styleGenerateJobKind], 0);
    try {
      const filmId = listFilms(project.db)[0].id;
      const styleId = ensureStyle(project, filmId);
      const job = runner.enqueue(STYLE_GENERATE_JOB, { filmId, styleId, modelDir, count: 2, seed: 7, steps: 2, width: 16, height: 16 }, filmId);
      await runner.whenIdle();
      expect(getJob(project.db, job.id)!.status).toBe('done');
      const images = getStyleState(project, filmId).images;
      expect(images.map((i) => i.source)).toEqual(['generated', 'generated']);

      const { description, locations } = filmStyleInfo(project, filmId);
      const prompts = styleImagePrompts(description, locations, 2);
      expect(prompts[1]).toBe(`${description}, ${locations[1]}`);
      const pipeline = await DiffusionPipeline.load(modelDir);
      try {
        for (let i = 0; i < 2; i++) {
          const ref = await pipeline.generate({ prompt: prompts[i], seed: 7 + i, steps: 2, width: 16, height: 16 });
          expect(readStoredImage(project, images[i].sha256).equals(ref.images[0])).toBe(true);
          expect(existsSync(join(project.assetsDir, 'images', images[i].sha256.slice(0, 2)))).toBe(true);
        }
      } finally {
        await pipeline.release();
      }
    } finally {
      await runner.stop();
      project.close();
    }
  }, 60_000);
});
