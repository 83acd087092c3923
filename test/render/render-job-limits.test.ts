import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { EventBus } from '../../src/main/app/event-bus';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner } from '../../src/main/jobs/runner';
import type { Project } from '../../src/main/project/project';
import { filmFramesInOrder } from '../../src/main/render/frames';
import { loadKeyframeRenderer } from '../../src/main/render/keyframe-renderer';
import { FAIL_FAST_FRAMES, RENDER_JOB, renderJobKind, type RendererFactory } from '../../src/main/render/render-job';
import { setRenderSettings } from '../../src/main/render/settings';
import { listFilms } from '../../src/main/story/film-reader';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

const model = join(tinySd15Dir, 'pipeline');
const tiny = { model, width: 16, height: 16, steps: 2, guidance: 3 };

/** The real tiny-model renderer whose render() throws `failure(call)` instead when that returns an error. */
function failingFactory(calls: number[], failure: (call: number) => Error | null): RendererFactory {
  return async (settings, context) => {
    const inner = await loadKeyframeRenderer(settings, context);
    return {
      model: inner.model,
      async render(req) {
        calls.push(req.seed);
        const err = failure(calls.length);
        if (err) throw err;
        return inner.render(req);
      },
      release: () => inner.release(),
    };
  };
}

function renderRows(p: Project, jobId: number): { status: string; error: string | null }[] {
  return p.db.prepare('SELECT status, error FROM render WHERE job_id = ? ORDER BY id').all(jobId) as { status: string; error: string | null }[];
}

describe('render job: refuses what cannot fit, and stops when every frame fails alike', () => {
  const tmp = useTempDir();

  it(`stops after ${FAIL_FAST_FRAMES} frames failing with the same error, with that error, leaving the rest to a resume`, async () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    const all = filmFramesInOrder(p.db, filmId);
    expect(all.length).toBeGreaterThan(FAIL_FAST_FRAMES + 2);
    const settings = setRenderSettings(p.db, filmId, tiny);
    const calls: number[] = [];
    const runner = new JobRunner(p, new EventBus(), [renderJobKind(failingFactory(calls, () => new Error('Failed to allocate 274877906944 bytes')))], 0);
    runner.start();
    const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'film' }, settings }, filmId);
    await runner.whenIdle();
    const failed = getJob(p.db, job.id)!;
    expect(failed.status).toBe('failed');
    expect(failed.error!.message).toBe(`Failed to allocate 274877906944 bytes (the last 3 frames all failed with this error, so the job stopped; ${all.length - 3} frame(s) not tried; resume the job to retry)`);
    expect(calls).toHaveLength(FAIL_FAST_FRAMES);
    expect(renderRows(p, job.id)).toEqual(Array(3).fill({ status: 'failed', error: 'Failed to allocate 274877906944 bytes' }));
    await runner.stop();
    p.close();
  });

  it('keeps going while the errors differ, or a frame in between succeeds', async () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    const all = filmFramesInOrder(p.db, filmId);
    const settings = setRenderSettings(p.db, filmId, tiny);
    const calls: number[] = [];
    // Frames 1, 2, 4, 5, 7, 8, … fail with one message; every third renders.
    const runner = new JobRunner(p, new EventBus(), [renderJobKind(failingFactory(calls, (n) => (n % 3 === 0 ? null : new Error('flaky'))))], 0);
    runner.start();
    const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'film' }, settings }, filmId);
    await runner.whenIdle();
    expect(calls).toHaveLength(all.length);
    expect(getJob(p.db, job.id)).toMatchObject({ status: 'failed', error: { code: 'render.frames_failed' } });
    await runner.stop();

    const calls2: number[] = [];
    const runner2 = new JobRunner(p, new EventBus(), [renderJobKind(failingFactory(calls2, (n) => new Error(`error ${n}`)))], 0);
    runner2.start();
    const job2 = runner2.enqueue(RENDER_JOB, { filmId, scope: { kind: 'film' }, settings }, filmId);
    await runner2.whenIdle();
    expect(calls2).toHaveLength(all.length);
    expect(getJob(p.db, job2.id)!.error!.message).toMatch(new RegExp(`^${all.length} of ${all.length} frame\\(s\\) failed`));
    await runner2.stop();
    p.close();
  });

  it('refuses a size the machine cannot hold before loading the model, naming the need and the native size', async () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    const settings = setRenderSettings(p.db, filmId, { ...tiny, width: 1024, height: 1024 });
    const calls: number[] = [];
    let loads = 0;
    const factory = failingFactory(calls, () => null);
    const runner = new JobRunner(p, new EventBus(), [renderJobKind(async (s, c) => { loads++; return factory(s, c); })], 0);
    runner.start();
    const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'film' }, settings, maxMemoryGiB: 64 }, filmId);
    await runner.whenIdle();
    const refused = getJob(p.db, job.id)!;
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'diffusion.too_large' } });
    expect(refused.error!.message).toMatch(/^1024×1024 on this model needs about 256 GiB; its native size is 64×64 /);
    expect(loads).toBe(0);
    expect(renderRows(p, job.id)).toEqual([]);
    await runner.stop();
    p.close();
  });

  it('renders an unset size at the model\'s native size', async () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    const settings = setRenderSettings(p.db, filmId, { model, steps: 2, guidance: 3 });
    expect(settings.width).toBeNull();
    const frame = filmFramesInOrder(p.db, filmId)[0];
    const runner = new JobRunner(p, new EventBus(), [renderJobKind()], 0);
    runner.start();
    const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'frames', frameIds: [frame.frameId] }, settings }, filmId);
    await runner.whenIdle();
    expect(getJob(p.db, job.id)).toMatchObject({ status: 'done' });
    const asset = p.db.prepare(`SELECT a.width, a.height FROM render r JOIN asset a ON a.sha256 = r.asset_sha256 WHERE r.job_id = ?`).get(job.id);
    expect(asset).toEqual({ width: 64, height: 64 });
    await runner.stop();
    p.close();
  });
});
