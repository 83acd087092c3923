import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { EventBus } from '../../src/main/app/event-bus';
import { FARM_PREFIX, FARM_QUEUE } from '../../src/main/farm/messages';
import { farmRoute } from '../../src/main/farm/coordinator';
import { farmStatus } from '../../src/main/farm/status';
import { writeEmbeddingFile } from '../../src/main/style/formats/index';
import { f32, readCase } from '../diffusion/fixture-io';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner } from '../../src/main/jobs/runner';
import type { Project } from '../../src/main/project/project';
import { filmFramesInOrder, framePrompt, negativePromptOf, seedFor } from '../../src/main/render/frames';
import { loadKeyframeRenderer } from '../../src/main/render/keyframe-renderer';
import { readStoredImage } from '../../src/main/media/image-store';
import { RENDER_JOB, renderJobKind } from '../../src/main/render/render-job';
import { setRenderSettings } from '../../src/main/render/settings';
import { getStoryboard, listFilms } from '../../src/main/story/film-reader';
import { freePort, startRedis, type TestRedis } from '../support/redis';
import { repoRoot, tinySd15Dir } from '../support/paths';

/**
 * The render farm end to end: a real redis-server, `dreamframe worker` processes, and a coordinator (a job
 * runner in this process, or a `render-film --redis` process) rendering subchapters of the sample film with
 * the tiny SD 1.x fixture at 64×64.
 */

const bin = join(repoRoot, 'bin/dreamframe.js');
const model = join(tinySd15Dir, 'pipeline');
const tiny = { model, width: 64, height: 64, steps: 2, guidance: 3 };

interface WorkerProc { name: string; child: ChildProcess; log: string; exited: Promise<number | null> }

let redis: TestRedis;
let root: string;
let modelsDir: string;
const workers: WorkerProc[] = [];

function startWorker(name: string, url: string, models = modelsDir): Promise<WorkerProc> {
  const child = spawn(process.execPath, [bin, 'worker', '--redis', url, '--models', models, '--name', name,
    '--lock-ms', '10000', '--stalled-ms', '1000'], { cwd: repoRoot, env: { ...process.env, DREAMFRAME_CONFIG_DIR: join(root, 'config') } });
  const w: WorkerProc = {
    name, child, log: '',
    exited: new Promise((r) => child.on('exit', (code) => r(code))),
  };
  workers.push(w);
  child.stderr!.on('data', (d) => { w.log += d; });
  child.stdout!.on('data', (d) => { w.log += d; });
  return new Promise((resolve, reject) => {
    const limit = setTimeout(() => reject(new Error(`worker ${name} did not start:\n${w.log}`)), 60_000);
    const check = setInterval(() => {
      if (w.log.includes('takes tasks from')) { clearInterval(check); clearTimeout(limit); resolve(w); }
      if (child.exitCode !== null) { clearInterval(check); clearTimeout(limit); reject(new Error(`worker ${name} exited:\n${w.log}`)); }
    }, 50);
  });
}

/** Frames a worker says it finished, as "frameId/variant". */
function rendered(w: WorkerProc): string[] {
  return [...w.log.matchAll(/rendered frame (\d+) variant (\d+)/g)].map((m) => `${m[1]}/${m[2]}`);
}

async function stopWorker(w: WorkerProc): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await w.exited;
}

function newProject(): { project: Project; filmId: number; subchapters: number[] } {
  const project = createProjectWithSample(join(mkdtempSync(join(root, 'p-')), 'p'), true);
  const filmId = listFilms(project.db)[0].id;
  setRenderSettings(project.db, filmId, tiny);
  return { project, filmId, subchapters: getStoryboard(project.db, filmId).subchapters.map((s) => s.id) };
}

function coordinator(project: Project, url: string) {
  const events = new EventBus();
  const runner = new JobRunner(project, events, [renderJobKind(undefined, farmRoute(url, { pollMs: 100, backoffMs: 100 }))], 0);
  runner.start();
  return runner;
}

function framesOf(project: Project, filmId: number, subchapterId: number) {
  const sb = getStoryboard(project.db, filmId);
  const ids = new Set(sb.frames.filter((f) => f.subchapterId === subchapterId).map((f) => f.id));
  return filmFramesInOrder(project.db, filmId).filter((f) => ids.has(f.frameId));
}

interface RenderRow { frame_id: number; variant: number; status: string; seed: number; asset_sha256: string | null; error: string | null }
const rows = (project: Project): RenderRow[] => project.db.prepare('SELECT * FROM render ORDER BY id').all() as RenderRow[];

async function waitFor(cond: () => boolean, ms: number, state: () => string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms: ${state()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function runCli(args: string[], limitMs = 90_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: process.env });
    const out = { stdout: '', stderr: '' };
    const limit = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`dreamframe ${args[0]} still running after ${limitMs} ms:\n${out.stderr}`)); }, limitMs);
    child.stdout.on('data', (d) => { out.stdout += d; });
    child.stderr.on('data', (d) => { out.stderr += d; });
    child.on('close', (code) => { clearTimeout(limit); resolve({ code, ...out }); });
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dreamframe-farm-'));
  modelsDir = join(root, 'models');
  mkdirSync(modelsDir);
  symlinkSync(model, join(modelsDir, 'tiny-sd15'));
  redis = await startRedis();
  await Promise.all([startWorker('w1', redis.url), startWorker('w2', redis.url)]);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => { if (w.child.exitCode === null) w.child.kill('SIGKILL'); return w.exited; }));
  await redis?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('render farm', () => {
  it('two workers render a subchapter: every frame once, bytes equal to a local render with the same seed', async () => {
    const { project, filmId, subchapters } = newProject();
    const before = workers.map((w) => rendered(w).length);
    const runner = coordinator(project, redis.url);
    const job = runner.enqueue(RENDER_JOB, {
      filmId, scope: { kind: 'subchapter', subchapterId: subchapters[0] }, settings: setRenderSettings(project.db, filmId, {}),
    }, filmId);
    await runner.whenIdle();
    expect(getJob(project.db, job.id)).toMatchObject({ status: 'done', progress: 1, error: null });
    const frames = framesOf(project, filmId, subchapters[0]);
    const written = rows(project);
    expect(written.map((r) => r.frame_id).sort()).toEqual(frames.map((f) => f.frameId).sort());
    expect(written.every((r) => r.status === 'done')).toBe(true);
    // Rendered exactly once over both workers, and both took part.
    const byWorker = workers.slice(0, 2).map((w, i) => rendered(w).slice(before[i]));
    expect(byWorker.flat().sort()).toEqual(frames.map((f) => `${f.frameId}/0`).sort());
    expect(byWorker.every((list) => list.length > 0)).toBe(true);
    // Same bytes as rendering locally with the job's settings and the release seed policy.
    const settings = setRenderSettings(project.db, filmId, {});
    const local = await loadKeyframeRenderer(settings, { keyword: '', cacheDir: join(root, 'cache') });
    try {
      for (const f of frames) {
        const row = written.find((r) => r.frame_id === f.frameId)!;
        expect(row.seed).toBe(seedFor(settings, f.filmIndex, 0));
        const desc = (project.db.prepare('SELECT description FROM frame WHERE id = ?').get(f.frameId) as { description: string }).description;
        const png = await local.render({ prompt: framePrompt(project.db, filmId, desc), negativePrompt: negativePromptOf(settings), seed: row.seed });
        expect(createHash('sha256').update(png).digest('hex')).toBe(row.asset_sha256);
        expect(readStoredImage(project, row.asset_sha256!).equals(png)).toBe(true);
      }
    } finally {
      await local.release();
    }
    // The jobs view's worker list: both workers, alive, on this host, with what they did.
    const farm = await farmStatus({ DREAMFRAME_REDIS: redis.url });
    expect(farm).toMatchObject({ url: redis.url, source: 'env', reachable: true, error: null });
    expect(farm.workers.map((w) => w.name)).toEqual(['w1', 'w2']);
    expect(farm.workers.every((w) => w.provider === 'cpu' && w.device === 'cpu' && w.framesDone >= 1 && w.lastSeenMs < 10_000)).toBe(true);
    // Results are removed from Redis once written.
    const queue = new Queue(FARM_QUEUE, { connection: { url: redis.url }, prefix: FARM_PREFIX });
    expect(await queue.getJobCounts('completed', 'waiting', 'active', 'failed')).toEqual({ completed: 0, waiting: 0, active: 0, failed: 0 });
    await queue.close();
    await runner.stop();
    project.close();
  });

  it('the coordinator killed mid-run collects on restart what the workers finished meanwhile, each frame rendered once', async () => {
    const { project, filmId, subchapters } = newProject();
    const dir = project.dir;
    const frames = framesOf(project, filmId, subchapters[1]);
    const before = workers.map((w) => rendered(w).length);
    const args = ['render-film', '--project', dir, '--film', String(filmId), '--scope', 'subchapter:1.2', '--model', model,
      '--width', '64', '--height', '64', '--steps', '2', '--guidance', '3', '--redis', redis.url, '--json'];
    const first = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: process.env });
    let firstErr = '';
    first.stderr.on('data', (d) => { firstErr += d; });
    const firstExit = new Promise((r) => first.on('exit', r));
    // Kill -9 as soon as the first frame is written.
    await waitFor(() => rows(project).length >= 1, 60_000, () => `no frame written; render-film stderr:\n${firstErr}`);
    first.kill('SIGKILL');
    await firstExit;
    expect(rows(project).length).toBeLessThan(frames.length);
    // The workers go on meanwhile; their results wait in Redis.
    await waitFor(() => workers.slice(0, 2).reduce((n, w, i) => n + rendered(w).length - before[i], 0) >= frames.length, 60_000,
      () => workers.map((w) => w.log).join('\n'));
    const second = await runCli(args);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'done', resumed: true, frames: frames.length });
    const written = rows(project);
    expect(written.map((r) => r.frame_id).sort()).toEqual(frames.map((f) => f.frameId).sort());
    expect(written.every((r) => r.status === 'done')).toBe(true);
    // Nothing was rendered twice: the restarted coordinator took the finished results from Redis.
    const byWorker = workers.slice(0, 2).flatMap((w, i) => rendered(w).slice(before[i]));
    expect(byWorker.sort()).toEqual(frames.map((f) => `${f.frameId}/0`).sort());
    project.close();
  });

  it('a worker without the model refuses its tasks and the job reports why', async () => {
    const url = `${redis.url}/1`; // another Redis database: the workers with the model do not see this queue
    const empty = join(root, 'no-models');
    mkdirSync(empty);
    const w = await startWorker('w-empty', url, empty);
    const { project, filmId, subchapters } = newProject();
    const runner = coordinator(project, url);
    const job = runner.enqueue(RENDER_JOB, {
      filmId, scope: { kind: 'frames', frameIds: [framesOf(project, filmId, subchapters[1])[0].frameId] },
      settings: setRenderSettings(project.db, filmId, {}),
    }, filmId);
    await runner.whenIdle();
    const result = getJob(project.db, job.id)!;
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('render.frames_failed');
    expect(result.error?.message).toMatch(/worker w-empty on .* has no model with content hash [0-9a-f]{64}/);
    expect(rows(project)).toMatchObject([{ status: 'failed', error: expect.stringContaining('has no model') }]);
    expect(rendered(w)).toEqual([]);
    await runner.stop();
    project.close();
    await stopWorker(w);
  });

  it('Redis unreachable: a clear error at job start, nothing rendered', async () => {
    const { project, filmId, subchapters } = newProject();
    const url = `redis://127.0.0.1:${await freePort()}`;
    const runner = coordinator(project, url);
    const job = runner.enqueue(RENDER_JOB, {
      filmId, scope: { kind: 'subchapter', subchapterId: subchapters[0] }, settings: setRenderSettings(project.db, filmId, {}),
    }, filmId);
    await runner.whenIdle();
    const result = getJob(project.db, job.id)!;
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'farm.unreachable' });
    expect(result.error!.message).toContain(`Redis at ${url} is unreachable`);
    expect(result.error!.message).toContain('nothing was queued');
    expect(rows(project)).toEqual([]);
    await runner.stop();
    project.close();
  });

  it('tasks carry no path of the coordinator (embedding as bytes); they survive a Redis restart; cancel removes them', async () => {
    const url = `${redis.url}/2`; // no worker listens here: the tasks stay queued
    const { project, filmId, subchapters } = newProject();
    const cases = join(tinySd15Dir, 'cases');
    const vector = f32(cases, readCase(cases, 'textual_inversion.json').placeholder_embedding_initial);
    const embeddingFile = join(project.dir, 'style.safetensors');
    writeEmbeddingFile(embeddingFile, { vectors: [{ rows: 1, width: vector.length, data: vector }], family: null, keyword: 'Whimsical' }, 'ours');
    const settings = setRenderSettings(project.db, filmId, { embedding: embeddingFile });
    const frames = framesOf(project, filmId, subchapters[3]);
    const runner = coordinator(project, url);
    const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'subchapter', subchapterId: subchapters[3] }, settings }, filmId);
    const queue = new Queue(FARM_QUEUE, { connection: { url }, prefix: FARM_PREFIX });
    try {
      const until = Date.now() + 30_000;
      while ((await queue.getWaitingCount()) < frames.length) {
        if (Date.now() > until) throw new Error(`tasks not queued: ${JSON.stringify(getJob(project.db, job.id))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const waiting = await queue.getWaiting();
      expect(waiting).toHaveLength(frames.length);
      const wire = JSON.stringify(waiting.map((j) => j.data));
      for (const secret of [project.dir, root, model, embeddingFile, tmpdir(), process.env.HOME ?? '/root']) expect(wire).not.toContain(secret);
      const embedding = waiting[0].data.embedding;
      expect(createHash('sha256').update(Buffer.from(embedding.base64, 'base64')).digest('hex')).toBe(createHash('sha256').update(readFileSync(embeddingFile)).digest('hex'));
      // Append-only persistence: a restarted Redis still holds every task.
      await redis.restart();
      expect(await queue.getWaitingCount()).toBe(frames.length);
      expect(runner.cancel(job.id)).toBe(true);
      await runner.whenIdle();
      expect(getJob(project.db, job.id)!.status).toBe('cancelled');
      expect(await queue.getWaitingCount()).toBe(0);
      expect(rows(project)).toEqual([]);
    } finally {
      await queue.close();
      await runner.stop();
      project.close();
    }
  });

  // Last: it leaves one of the two shared workers dead. Runs after the Redis restart above: the workers reconnected.
  it('a worker killed (-9) mid-frame: its task goes to the other worker and the job completes, each frame written once', async () => {
    const { project, filmId, subchapters } = newProject();
    const frames = framesOf(project, filmId, subchapters[2]);
    const [w1] = workers;
    const mark = w1.log.length;
    const runner = coordinator(project, redis.url);
    const job = runner.enqueue(RENDER_JOB, {
      filmId, scope: { kind: 'subchapter', subchapterId: subchapters[2] }, settings: setRenderSettings(project.db, filmId, {}),
    }, filmId);
    await waitFor(() => /rendering frame/.test(w1.log.slice(mark)), 60_000, () => w1.log);
    w1.child.kill('SIGKILL');
    await w1.exited;
    await runner.whenIdle();
    expect(getJob(project.db, job.id)).toMatchObject({ status: 'done', error: null });
    const written = rows(project);
    expect(written.map((r) => r.frame_id).sort()).toEqual(frames.map((f) => f.frameId).sort());
    expect(written.every((r) => r.status === 'done')).toBe(true);
    await runner.stop();
    project.close();
  });
});
