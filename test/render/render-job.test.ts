import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventPayload } from '../../src/shared/api/contract';
import type { Job } from '../../src/shared/api/entities';
import { createProjectWithSample } from '../../src/main/app/context';
import { EventBus } from '../../src/main/app/event-bus';
import { DiffusionPipeline } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner } from '../../src/main/jobs/runner';
import { openProject } from '../../src/main/project/project';
import { filmFramesInOrder, framePrompt } from '../../src/main/render/frames';
import { loadKeyframeRenderer } from '../../src/main/render/keyframe-renderer';
import { DEFAULT_NEGATIVE_PROMPT } from '../../src/main/render/prompt';
import { RENDER_JOB, renderJobKind, type RendererFactory } from '../../src/main/render/render-job';
import { getRenderSettings, setRenderSettings } from '../../src/main/render/settings';
import { getStoryboard, listFilms } from '../../src/main/story/film-reader';
import { editItem } from '../../src/main/story/edits';
import { writeEmbeddingFile } from '../../src/main/style/formats/index';
import { f32, readCase } from '../diffusion/fixture-io';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

const model = join(tinySd15Dir, 'pipeline');
// Tiny sizes keep a frame well under a second on a loaded 2-core machine.
const tiny = { model, width: 16, height: 16, steps: 2, guidance: 3 };

/** The real tiny-model renderer, counting which seeds finished (a finished seed is a finished frame/variant). */
function countingFactory(finished: number[]): RendererFactory {
  return async (settings, context) => {
    const inner = await loadKeyframeRenderer(settings, context);
    return {
      model: inner.model,
      async render(req) {
        const png = await inner.render(req);
        finished.push(req.seed);
        return png;
      },
      release: () => inner.release(),
    };
  };
}

interface RenderRow { id: number; frame_id: number; variant: number; seed: number; is_keyframe: number; asset_sha256: string; prompt: string; job_id: number; status: string }

let reference: DiffusionPipeline;
beforeAll(async () => { reference = await DiffusionPipeline.load(model); });
afterAll(async () => { await reference?.release(); });

describe('render.keyframes job', () => {
  const tmp = useTempDir();

  it('renders a subchapter with the release seed policy, content-addressed and identical to the pipeline', async () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    const settings = setRenderSettings(p.db, filmId, tiny);
    expect(settings).toMatchObject({ baseSeed: 20, scheduler: 'euler', refinerStart: 0.75, variants: 1 });
    const sb = getStoryboard(p.db, filmId);
    const sub = sb.subchapters[1];
    const order = filmFramesInOrder(p.db, filmId);
    const subFrames = order.filter((f) => sb.frames.find((x) => x.id === f.frameId)!.subchapterId === sub.id);

    const events = new EventBus();
    const progress: number[] = [];
    events.onAny((name, payload) => {
      const job = payload as Job;
      if (name === 'job.progress' && job.status === 'running') progress.push(job.progress);
    });
    const runner = new JobRunner(p, events, [renderJobKind()], 0);
    runner.start();
    const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'subchapter', subchapterId: sub.id }, settings }, filmId);
    await runner.whenIdle();
    expect(getJob(p.db, job.id)).toMatchObject({ status: 'done', progress: 1, error: null });
    // Progress only moves forward and reaches 1.
    expect(progress.every((v, i) => i === 0 || v >= progress[i - 1])).toBe(true);
    expect(Math.max(...progress)).toBe(1);

    const rows = p.db.prepare('SELECT * FROM render ORDER BY id').all() as RenderRow[];
    expect(rows.map((r) => r.frame_id)).toEqual(subFrames.map((f) => f.frameId));
    for (const [i, r] of rows.entries()) {
      const f = subFrames[i];
      expect(r).toMatchObject({ status: 'done', variant: 0, is_keyframe: 1, seed: 20 + f.filmIndex, job_id: job.id });
      expect(r.prompt).toBe(framePrompt(p.db, filmId, f.description));
      expect(r.prompt.startsWith('generate an image in Whimsical style: ')).toBe(true);
      const asset = p.db.prepare('SELECT * FROM asset WHERE sha256 = ?').get(r.asset_sha256) as { rel_path: string; width: number; height: number };
      const bytes = readFileSync(join(p.assetsDir, asset.rel_path));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(r.asset_sha256);
      expect([asset.width, asset.height]).toEqual([16, 16]);
      // Same bytes as the pipeline itself gives for this prompt and seed.
      const direct = await reference.generate({
        prompt: r.prompt, negativePrompt: DEFAULT_NEGATIVE_PROMPT, seed: r.seed, steps: 2, guidance: 3, width: 16, height: 16, scheduler: 'euler',
      });
      expect(Buffer.compare(direct.images[0], bytes)).toBe(0);
    }
    // The storyboard now points at the renders.
    const after = getStoryboard(p.db, filmId);
    for (const f of subFrames) expect(after.frames.find((x) => x.id === f.frameId)!.thumbnail.kind).toBe('render');
    // Editing a description marks the render stale; re-rendering with onlyMissing picks exactly that frame.
    editItem(p.db, { type: 'frame', id: subFrames[0].frameId, values: { description: 'Mira waves from the pier.' }, label: 'edit' });
    expect(getStoryboard(p.db, filmId).frames.find((x) => x.id === subFrames[0].frameId)!.stale).toBe(true);
    const again = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'subchapter', subchapterId: sub.id }, onlyMissing: true, settings }, filmId);
    await runner.whenIdle();
    const newRows = p.db.prepare('SELECT * FROM render WHERE job_id = ?').all(again.id) as RenderRow[];
    expect(newRows.map((r) => r.frame_id)).toEqual([subFrames[0].frameId]);
    expect(getStoryboard(p.db, filmId).frames.find((x) => x.id === subFrames[0].frameId)!.stale).toBe(false);
    const keyframes = p.db.prepare('SELECT id FROM render WHERE frame_id = ? AND is_keyframe = 1').all(subFrames[0].frameId) as { id: number }[];
    expect(keyframes).toEqual([{ id: newRows[0].id }]);
    await runner.stop();
    p.close();
  });

  it('renders N variants per frame with distinct seeds, variant 0 as keyframe; an explicit seed re-renders one frame', async () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    const settings = setRenderSettings(p.db, filmId, { ...tiny, variants: 2, baseSeed: 7 });
    const frame = filmFramesInOrder(p.db, filmId)[5];
    const runner = new JobRunner(p, new EventBus(), [renderJobKind()], 0);
    runner.start();
    runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'frames', frameIds: [frame.frameId] }, settings }, filmId);
    await runner.whenIdle();
    const rows = p.db.prepare('SELECT * FROM render ORDER BY id').all() as RenderRow[];
    expect(rows.map((r) => [r.variant, r.seed, r.is_keyframe])).toEqual([[0, 7 + 5, 1], [1, 7 + 5 + 100_003, 0]]);
    expect(rows[0].asset_sha256).not.toBe(rows[1].asset_sha256);

    runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'frames', frameIds: [frame.frameId] }, seed: 999, settings: { ...settings, variants: 1 } }, filmId);
    await runner.whenIdle();
    const latest = p.db.prepare('SELECT * FROM render WHERE frame_id = ? AND is_keyframe = 1').all(frame.frameId) as RenderRow[];
    expect(latest.map((r) => r.seed)).toEqual([999]);
    await runner.stop();
    p.close();
  });

  it('resumes a film render after a stop without rendering any finished frame twice', async () => {
    const dir = join(tmp(), 'p');
    const p = createProjectWithSample(dir, true);
    const filmId = listFilms(p.db)[0].id;
    const settings = setRenderSettings(p.db, filmId, tiny);
    const all = filmFramesInOrder(p.db, filmId);
    const finished: number[] = [];
    const events = new EventBus();
    const runner = new JobRunner(p, events, [renderJobKind(countingFactory(finished))], 0);
    let framesDone = 0;
    let stopping: Promise<void> | null = null;
    events.onAny((name, payload) => {
      const e = payload as EventPayload<'data.changed'>;
      if (name === 'data.changed' && e.entities.some((x) => x.type === 'render') && ++framesDone === 3) stopping = runner.stop();
    });
    runner.start();
    const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'film' }, settings }, filmId);
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (stopping) { clearInterval(t); resolve(); } }, 5); });
    await stopping;
    expect(getJob(p.db, job.id)?.status).toBe('running');
    const doneBefore = (p.db.prepare('SELECT count(*) AS n FROM render WHERE job_id = ?').get(job.id) as { n: number }).n;
    expect(doneBefore).toBeGreaterThanOrEqual(3);
    expect(doneBefore).toBeLessThan(all.length);
    p.close();

    // "Restart": reopen the project; the runner re-queues the job and continues from its checkpoint.
    const q = openProject(dir);
    const runner2 = new JobRunner(q, new EventBus(), [renderJobKind(countingFactory(finished))], 0);
    runner2.start();
    await runner2.whenIdle();
    expect(getJob(q.db, job.id)).toMatchObject({ status: 'done', progress: 1 });
    const rows = q.db.prepare('SELECT frame_id, seed FROM render WHERE job_id = ? ORDER BY id').all(job.id) as { frame_id: number; seed: number }[];
    expect(rows.map((r) => r.frame_id)).toEqual(all.map((f) => f.frameId));
    // Every finished render call is a distinct seed: no frame was rendered twice.
    expect(new Set(finished).size).toBe(finished.length);
    expect([...finished].sort((a, b) => a - b)).toEqual(all.map((f) => 20 + f.filmIndex));
    expect(getRenderSettings(q.db, filmId).width).toBe(16);
    await runner2.stop();
    q.close();
  });

  it('renders with a learned style embedding bound to the film keyword, like the pipeline given the same vectors', async () => {
    const dir = tmp();
    const p = createProjectWithSample(join(dir, 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    // The textual-inversion fixture's vector, saved as an embedding file in our format.
    const cases = join(tinySd15Dir, 'cases');
    const vector = f32(cases, readCase(cases, 'textual_inversion.json').placeholder_embedding_initial);
    const file = join(dir, 'style.safetensors');
    writeEmbeddingFile(file, { vectors: [{ rows: 1, width: vector.length, data: vector }], family: null, keyword: 'Whimsical' }, 'ours');
    const settings = setRenderSettings(p.db, filmId, { ...tiny, embedding: file });
    const frame = filmFramesInOrder(p.db, filmId)[2];
    const runner = new JobRunner(p, new EventBus(), [renderJobKind()], 0);
    runner.start();
    const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'frames', frameIds: [frame.frameId] }, settings }, filmId);
    await runner.whenIdle();
    expect(getJob(p.db, job.id)).toMatchObject({ status: 'done' });
    const row = p.db.prepare('SELECT * FROM render WHERE job_id = ?').get(job.id) as RenderRow;
    const asset = p.db.prepare('SELECT rel_path FROM asset WHERE sha256 = ?').get(row.asset_sha256) as { rel_path: string };
    const bytes = readFileSync(join(p.assetsDir, asset.rel_path));
    const opts = { prompt: row.prompt, negativePrompt: DEFAULT_NEGATIVE_PROMPT, seed: row.seed, steps: 2, guidance: 3, width: 16, height: 16, scheduler: 'euler' as const };
    const plain = await reference.generate(opts);
    expect(Buffer.compare(plain.images[0], bytes)).not.toBe(0);
    const styled = await DiffusionPipeline.load(model);
    try {
      await styled.setLearnedEmbedding({ keyword: 'Whimsical', vectors: [vector], cacheDir: join(dir, 'cache') });
      expect(Buffer.compare((await styled.generate(opts)).images[0], bytes)).toBe(0);
    } finally {
      await styled.release();
    }
    await runner.stop();
    p.close();
  });

  it('fails with a readable error when no model is set', async () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    const runner = new JobRunner(p, new EventBus(), [renderJobKind()], 0);
    runner.start();
    const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'film' }, settings: getRenderSettings(p.db, filmId) }, filmId);
    await runner.whenIdle();
    expect(getJob(p.db, job.id)).toMatchObject({ status: 'failed', error: { code: 'render.no_model' } });
    await runner.stop();
    p.close();
  });
});
