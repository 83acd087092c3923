/**
 * Render farm throughput and overhead on the tiny SD 1.x fixture (64×64, 4 steps), printed:
 * - frames per minute rendering a chapter locally (the render job without a farm), and on the farm with 1 and
 *   2 `dreamframe worker` processes (each ratio measured in this run);
 * - queue overhead per task with 1 worker: (wall time − the worker's render time) / tasks, i.e. enqueue, pickup,
 *   result transfer, content-addressed store and the write transaction, against the render time per frame.
 * The workers are warmed up first (model loaded) so no run pays a model load. Run: node --import tsx bench/farm.ts
 * On a machine with N GPUs the 2-worker ratio is the interesting one; on a shared CPU the workers compete for cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createProjectWithSample } from '../src/main/app/context';
import { EventBus } from '../src/main/app/event-bus';
import { farmRoute } from '../src/main/farm/coordinator';
import { getJob } from '../src/main/jobs/job-store';
import { JobRunner } from '../src/main/jobs/runner';
import { RENDER_JOB, renderJobKind } from '../src/main/render/render-job';
import { setRenderSettings } from '../src/main/render/settings';
import { getStoryboard, listFilms } from '../src/main/story/film-reader';
import { REDIS_SERVER, startRedis } from '../test/support/redis';

const repoRoot = resolve(import.meta.dirname, '..');
const model = resolve(process.env.DREAMFRAME_SHARED ?? resolve(repoRoot, '../shared'), 'fixtures/tiny-sd15/pipeline');
const bin = join(repoRoot, 'bin/dreamframe.js');
const STEPS = Number(process.env.BENCH_STEPS ?? 4);

interface Worker { child: ChildProcess; log: string }

function startWorker(url: string, models: string, name: string, configDir: string): Promise<Worker> {
  const child = spawn(process.execPath, [bin, 'worker', '--redis', url, '--models', models, '--name', name, '--lock-ms', '30000'],
    { cwd: repoRoot, env: { ...process.env, DREAMFRAME_CONFIG_DIR: configDir } });
  const w: Worker = { child, log: '' };
  child.stderr!.on('data', (d) => { w.log += d; });
  return new Promise((ok, fail) => {
    const t = setInterval(() => {
      if (w.log.includes('takes tasks from')) { clearInterval(t); ok(w); }
      if (child.exitCode !== null) { clearInterval(t); fail(new Error(w.log)); }
    }, 50);
  });
}

const renderTimes = (w: Worker, from: number) => [...w.log.slice(from).matchAll(/ in (\d+) ms/g)].map((m) => Number(m[1]));

async function main(): Promise<void> {
  if (!existsSync(REDIS_SERVER)) {
    console.log(`render farm: skipped (no ${REDIS_SERVER}; install Debian's redis-server)`);
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'dreamframe-bench-farm-'));
  const models = join(root, 'models');
  mkdirSync(models);
  symlinkSync(model, join(models, 'tiny'));
  const redis = await startRedis();
  const workers: Worker[] = [];
  try {
    /** Renders chapter `chapterIndex` of a fresh sample project; returns wall seconds and frames. */
    const renderChapter = async (farm: string | null, chapterIndex: number) => {
      const project = createProjectWithSample(join(mkdtempSync(join(root, 'p-')), 'p'), true);
      const filmId = listFilms(project.db)[0].id;
      const settings = setRenderSettings(project.db, filmId, { model, width: 64, height: 64, steps: STEPS, guidance: 3 });
      const sb = getStoryboard(project.db, filmId);
      const chapterId = sb.chapters[chapterIndex].id;
      const frames = sb.frames.filter((f) => sb.subchapters.find((s) => s.id === f.subchapterId)!.chapterId === chapterId).length;
      const runner = new JobRunner(project, new EventBus(), [renderJobKind(undefined, farm ? farmRoute(farm, { pollMs: 50 }) : undefined)], 0);
      runner.start();
      const t0 = performance.now();
      const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'chapter', chapterId }, settings }, filmId);
      await runner.whenIdle();
      const seconds = (performance.now() - t0) / 1000;
      const status = getJob(project.db, job.id)!.status;
      await runner.stop();
      project.close();
      if (status !== 'done') throw new Error(`bench job ended ${status}`);
      return { seconds, frames };
    };

    const local = await renderChapter(null, 0); // also warms the OS file cache
    const localAgain = await renderChapter(null, 0);
    const localFpm = (localAgain.frames / localAgain.seconds) * 60;

    workers.push(await startWorker(redis.url, models, 'b1', join(root, 'cfg')));
    await renderChapter(redis.url, 1); // warm-up: b1 loads the model
    const mark1 = workers[0].log.length;
    const one = await renderChapter(redis.url, 0);
    const oneRender = renderTimes(workers[0], mark1);
    const oneFpm = (one.frames / one.seconds) * 60;
    const renderPerFrame = oneRender.reduce((a, b) => a + b, 0) / oneRender.length;
    const overheadPerTask = (one.seconds * 1000 - oneRender.reduce((a, b) => a + b, 0)) / one.frames;

    workers.push(await startWorker(redis.url, models, 'b2', join(root, 'cfg')));
    await renderChapter(redis.url, 1); // warm-up: b2 loads the model (b1 has it)
    const two = await renderChapter(redis.url, 0);
    const twoFpm = (two.frames / two.seconds) * 60;

    console.log(`render farm, tiny SD 1.x 64×64 ${STEPS} steps, ${one.frames} frames per run (first local run ${local.seconds.toFixed(1)} s incl. model load)`);
    console.log(`  local (no farm)   ${localFpm.toFixed(1)} frames/min`);
    console.log(`  farm, 1 worker    ${oneFpm.toFixed(1)} frames/min  (×${(oneFpm / localFpm).toFixed(2)} of local)`);
    console.log(`  farm, 2 workers   ${twoFpm.toFixed(1)} frames/min  (×${(twoFpm / oneFpm).toFixed(2)} of 1 worker)`);
    console.log(`  per task, 1 worker: render ${renderPerFrame.toFixed(0)} ms, queue overhead ${overheadPerTask.toFixed(0)} ms (${((overheadPerTask / renderPerFrame) * 100).toFixed(1)} % of render)`);
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.child.exitCode !== null ? r(null) : w.child.on('exit', r)))));
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
