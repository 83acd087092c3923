import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { EventBus } from '../../src/main/app/event-bus';
import { main } from '../../src/main/cli/main';
import { MAX_MEMORY_ENV } from '../../src/main/diffusion/memory-estimate';
import { importFilmDocumentFile } from '../../src/main/import/film-document';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner } from '../../src/main/jobs/runner';
import { openProject } from '../../src/main/project/project';
import { framesInScope, parseScopeSpec } from '../../src/main/render/frames';
import { listFilms } from '../../src/main/story/film-reader';
import { styleLearnJobKind } from '../../src/main/style/style-job';
import { importStyleFolder, STYLE_LEARN_JOB } from '../../src/main/style/style-service';
import { startServer } from '../../src/main/transports/server';
import { resourcesDir } from '../../src/main/util/resources';
import { dreamframeFixtureDir, repoRoot, tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { TestWsClient } from '../support/ws-client';

const bin = join(repoRoot, 'bin/dreamframe.js');
const model = join(tinySd15Dir, 'pipeline');
const TOO_LARGE = /^1024×1024 on this model needs about 256 GiB; its native size is 64×64 \(largest tensor: the UNet self-attention scores in its down block 1 .*; available: the --max-memory limit of 64 GiB\)\.$/;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the CLI in this process and returns its exit code and the --json error it printed. */
async function runInProcess(args: string[]): Promise<{ code: number; printed: string[] }> {
  const printed: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    return { code: await main(args), printed };
  } finally {
    spy.mockRestore();
  }
}

describe('render sizes from the CLI', () => {
  const tmp = useTempDir();

  it('issue #13 reproducer: render-film --film 2 --scope subchapter:1.1 with the film\'s default settings renders the tiny model at 64×64', async () => {
    const dir = join(tmp(), 'P');
    const p = createProjectWithSample(dir, true);
    // A second film, so that the reproducer's --film 2 exists.
    importFilmDocumentFile(p, join(resourcesDir(), 'sample', 'film.json'), 'sample');
    expect(listFilms(p.db).map((f) => f.id)).toContain(2);
    const frames = framesInScope(p.db, 2, parseScopeSpec(p.db, 2, 'subchapter:1.1'));
    p.close();
    const res = await run(['render-film', '--project', dir, '--film', '2', '--scope', 'subchapter:1.1', '--model', model, '--json']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: 'done', frames: frames.length, error: null });
    const q = openProject(dir);
    const sizes = q.db.prepare(`SELECT a.width, a.height FROM render r JOIN asset a ON a.sha256 = r.asset_sha256
      WHERE r.status = 'done' ORDER BY r.id`).all();
    q.close();
    expect(sizes).toEqual(frames.map(() => ({ width: 64, height: 64 })));
  }, 300_000); // 4 frames × the default 40 steps: over a minute on a loaded 2-core machine

  it('render-film refuses 1024×1024 on the tiny model before queueing a job', async () => {
    const dir = join(tmp(), 'P');
    createProjectWithSample(dir, true).close();
    const res = await run(['render-film', '--project', dir, '--film', '1', '--scope', 'subchapter:1.1', '--model', model,
      '--width', '1024', '--height', '1024', '--max-memory', '64', '--json']);
    expect(res.code).toBe(1);
    const { error } = JSON.parse(res.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('diffusion.too_large');
    expect(error.message).toMatch(TOO_LARGE);
    const q = openProject(dir);
    expect(q.db.prepare('SELECT count(*) AS n FROM job').get()).toEqual({ n: 0 });
    q.close();
  });

  it('render refuses the same size before loading the model', async () => {
    const { code, printed } = await runInProcess(['render', '--model', model, '--prompt', 'x', '--width', '1024', '--height', '1024',
      '--max-memory', '64', '--out', join(tmp(), 'x.png'), '--json']);
    expect(code).toBe(1);
    const { error } = JSON.parse(printed.join('')) as { error: { code: string; message: string } };
    expect(error.code).toBe('diffusion.too_large');
    expect(error.message).toMatch(TOO_LARGE);
  });

  it('style learn and the style.learn job refuse a training size, saying the estimate is conservative', async () => {
    const dir = tmp();
    const images = join(dir, 'images');
    mkdirSync(images);
    copyFileSync(join(dreamframeFixtureDir, 'style', 'Cathedral0.jpg'), join(images, 'Cathedral0.jpg'));
    const { code, printed } = await runInProcess(['style', 'learn', '--model', model, '--keyword', 'whimsical', '--images', images,
      '--out', join(dir, 'e.safetensors'), '--size', '1024', '--max-memory', '64', '--json']);
    expect(code).toBe(1);
    const { error } = JSON.parse(printed.join('')) as { error: { code: string; message: string } };
    expect(error.code).toBe('diffusion.too_large');
    // 6 kept self-attention score matrices of 1 × 8 × 65,536² × 4 bytes (128 GiB each) + 2 for the backward.
    expect(error.message).toMatch(/^Learning a style at 1024×1024 on this model needs about 1024 GiB; its native size is 64×64 \(a conservative estimate, the gradient graph's kept self-attention scores \(6 layers\)/);

    const project = createProjectWithSample(join(dir, 'project'), true);
    const before = process.env[MAX_MEMORY_ENV];
    process.env[MAX_MEMORY_ENV] = '64';
    const runner = new JobRunner(project, new EventBus(), [styleLearnJobKind], 0);
    try {
      const filmId = listFilms(project.db)[0].id;
      const { styleId } = await importStyleFolder(project, filmId, images);
      runner.start();
      const job = runner.enqueue(STYLE_LEARN_JOB, { filmId, styleId, modelDir: model, settings: { steps: 1, size: 1024 } }, filmId);
      await runner.whenIdle();
      const failed = getJob(project.db, job.id)!;
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'diffusion.too_large' } });
      expect(failed.error!.message).toMatch(/^Learning a style at 1024×1024 on this model needs about 1024 GiB; .*the DREAMFRAME_MAX_MEMORY_GIB limit of 64 GiB\)\.$/);
    } finally {
      if (before === undefined) delete process.env[MAX_MEMORY_ENV];
      else process.env[MAX_MEMORY_ENV] = before;
      await runner.stop();
      project.close();
    }
  });

  it('style.learn over the API refuses the size before queueing a job', async () => {
    const dir = tmp();
    const images = join(dir, 'images');
    mkdirSync(images);
    copyFileSync(join(dreamframeFixtureDir, 'style', 'Cathedral0.jpg'), join(images, 'Cathedral0.jpg'));
    const projectDir = join(dir, 'project');
    const project = createProjectWithSample(projectDir, true);
    const filmId = listFilms(project.db)[0].id;
    await importStyleFolder(project, filmId, images);
    project.close();
    const before = process.env[MAX_MEMORY_ENV];
    process.env[MAX_MEMORY_ENV] = '64';
    const server = await startServer({ projectDir, port: 0 });
    const ws = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    try {
      const refused = await ws.request('style.learn', { filmId, modelDir: model, settings: { size: 1024 } });
      expect(refused.error.code).toBe('diffusion.too_large');
      expect(refused.error.message).toMatch(/^Learning a style at 1024×1024 on this model needs about 1024 GiB; its native size is 64×64 \(a conservative estimate/);
      expect(await ws.call('jobs.list', {})).toEqual([]);
    } finally {
      if (before === undefined) delete process.env[MAX_MEMORY_ENV];
      else process.env[MAX_MEMORY_ENV] = before;
      ws.close();
      await server.close();
    }
  });
});
