import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { EventBus } from '../../src/main/app/event-bus';
import { farmRoute } from '../../src/main/farm/coordinator';
import { FARM_PREFIX, FARM_QUEUE, PROTOCOL_VERSION, type RenderResult, type RenderTask } from '../../src/main/farm/messages';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner } from '../../src/main/jobs/runner';
import { storeImage } from '../../src/main/media/image-store';
import { RENDER_JOB, renderJobKind } from '../../src/main/render/render-job';
import { setRenderSettings } from '../../src/main/render/settings';
import { getStoryboard, listFilms } from '../../src/main/story/film-reader';
import { tinySd15Dir } from '../support/paths';
import { startRedis, type TestRedis } from '../support/redis';
import { useTempDir } from '../support/tmp';

/**
 * A result seen twice is written once: the coordinator is stopped with its tasks queued, a stand-in worker answers
 * them all, and the project is left as a coordinator killed right after writing one frame and before removing that
 * frame's result from Redis would leave it. The next coordinator writes every other frame once, does not write that
 * frame again, and leaves nothing in Redis. (The stand-in's PNG need not be a render: only the bookkeeping is tested.)
 */

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let redis: TestRedis;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.stop(); });

async function until(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('render farm coordinator', () => {
  const tmp = useTempDir();

  it('writes a frame whose result is delivered again after a crash only once, and removes the leftover', async () => {
    const project = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(project.db)[0].id;
    const settings = setRenderSettings(project.db, filmId, { model: join(tinySd15Dir, 'pipeline'), width: 64, height: 64, steps: 2 });
    const subchapterId = getStoryboard(project.db, filmId).subchapters[0].id;
    const kind = renderJobKind(undefined, farmRoute(redis.url, { pollMs: 50 }));
    const queue = new Queue(FARM_QUEUE, { connection: { url: redis.url }, prefix: FARM_PREFIX });
    try {
      const first = new JobRunner(project, new EventBus(), [kind], 0);
      first.start();
      const job = first.enqueue(RENDER_JOB, { filmId, scope: { kind: 'subchapter', subchapterId }, settings }, filmId);
      await until('tasks queued', async () => (await queue.getWaitingCount()) === 4);
      await first.stop(); // the coordinator goes away; its tasks stay queued

      const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).png().toBuffer();
      const worker = new Worker(FARM_QUEUE, async (task): Promise<RenderResult> => {
        const t = task.data as RenderTask;
        return {
          v: PROTOCOL_VERSION, frameId: t.frameId, variant: t.variant, seed: t.seed, settingsHash: t.settingsHash,
          modelHash: t.settings.modelHash, pngBase64: png.toString('base64'), pngSha256: sha256(png), provider: 'cpu',
          worker: 'stand-in', timings: { loadMs: 0, renderMs: 1, startedAt: Date.now(), finishedAt: Date.now() },
        };
      }, { connection: { url: redis.url, maxRetriesPerRequest: null }, prefix: FARM_PREFIX });
      await until('results in Redis', async () => (await queue.getCompletedCount()) === 4);
      await worker.close();

      // The crash point: frame F written (render row + checkpoint, one transaction) but its result not yet removed.
      const row = project.db.prepare('SELECT checkpoint_json FROM job WHERE id = ?').get(job.id) as { checkpoint_json: string };
      const cp = JSON.parse(row.checkpoint_json) as { frames: { frameId: number }[]; done: number[]; failed: number[] };
      const written = cp.frames[0].frameId;
      const stored = await storeImage(project, png, 'image/png');
      project.db.transaction(() => {
        project.db.prepare(`INSERT INTO render (frame_id, variant, status, asset_sha256, seed, model, prompt, settings_json, is_keyframe, job_id)
          VALUES (?, 0, 'done', ?, 0, 'm', 'p', '{}', 1, ?)`).run(written, stored.sha256, job.id);
        project.db.prepare('UPDATE job SET checkpoint_json = ? WHERE id = ?').run(JSON.stringify({ ...cp, done: [written] }), job.id);
      })();

      const second = new JobRunner(project, new EventBus(), [kind], 0);
      second.start();
      await until('job done', async () => getJob(project.db, job.id)!.status === 'done');
      await second.whenIdle();
      const rows = project.db.prepare('SELECT frame_id, job_id FROM render ORDER BY frame_id').all() as { frame_id: number }[];
      expect(rows.map((r) => r.frame_id).sort()).toEqual(cp.frames.map((f) => f.frameId).sort());
      expect(rows.filter((r) => r.frame_id === written)).toHaveLength(1);
      await until('results removed', async () => (await queue.getCompletedCount()) === 0, 5_000);
      await second.stop();
    } finally {
      await queue.close();
      project.close();
    }
  });
});
