import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { openProject } from '../../src/main/project/project';
import { filmFramesInOrder, framesInScope, parseScopeSpec } from '../../src/main/render/frames';
import { listFilms } from '../../src/main/story/film-reader';
import { repoRoot, tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

const bin = join(repoRoot, 'bin/dreamframe.js');

/** Runs the CLI; `watch` is polled every 50 ms and may interrupt it like Ctrl+C. */
function run(args: string[], watch?: (kill: () => void) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    const timer = watch && setInterval(() => watch(() => child.kill('SIGINT')), 50);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => { if (timer) clearInterval(timer); resolve({ code, stdout, stderr }); });
  });
}

describe('dreamframe render-film', () => {
  const tmp = useTempDir();

  it('renders a chapter, and a run stopped with Ctrl+C resumes without rendering finished frames again', async () => {
    const dir = join(tmp(), 'p');
    const p = createProjectWithSample(dir, true);
    const filmId = listFilms(p.db)[0].id;
    const scopeFrames = framesInScope(p.db, filmId, parseScopeSpec(p.db, filmId, 'chapter:2'));
    const order = filmFramesInOrder(p.db, filmId);
    p.close();
    const args = ['render-film', '--project', dir, '--film', String(filmId), '--scope', 'chapter:2',
      '--model', join(tinySd15Dir, 'pipeline'), '--width', '16', '--height', '16', '--steps', '2', '--json'];

    let killed = false;
    const first = await run(args, (kill) => {
      // Stop once two frames are in the database.
      if (killed) return;
      const q = openProject(dir);
      const n = (q.db.prepare("SELECT count(*) AS n FROM render WHERE status = 'done'").get() as { n: number }).n;
      q.close();
      if (n >= 2) { killed = true; kill(); }
    });
    expect(first.code).toBe(130);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'running', resumed: false });
    const q = openProject(dir);
    const partial = q.db.prepare("SELECT frame_id FROM render WHERE status = 'done'").all() as { frame_id: number }[];
    q.close();
    expect(partial.length).toBeLessThan(scopeFrames.length);

    const second = await run(args);
    expect(second.code).toBe(0);
    const result = JSON.parse(second.stdout) as { jobId: number; status: string; resumed: boolean; frames: number };
    expect(result).toMatchObject({ status: 'done', resumed: true, frames: scopeFrames.length });
    const r = openProject(dir);
    const rows = r.db.prepare('SELECT frame_id, seed, job_id FROM render ORDER BY id').all() as { frame_id: number; seed: number; job_id: number }[];
    r.close();
    // One render per frame of chapter 2, in film order, with seed 20 + film index; the first run's frames kept.
    expect(rows.map((x) => x.frame_id)).toEqual(scopeFrames.map((f) => f.frameId));
    expect(rows.map((x) => x.seed)).toEqual(scopeFrames.map((f) => 20 + order.findIndex((o) => o.frameId === f.frameId)));
    expect(new Set(rows.map((x) => x.job_id))).toEqual(new Set([result.jobId]));
    expect(rows.slice(0, partial.length).map((x) => x.frame_id)).toEqual(partial.map((x) => x.frame_id));
  });

  it('refuses a scope the film does not have, naming the flag', async () => {
    const dir = join(tmp(), 'p');
    createProjectWithSample(dir, true).close();
    const res = await run(['render-film', '--project', dir, '--film', '1', '--scope', 'chapter:9', '--model', join(tinySd15Dir, 'pipeline'), '--json']);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout).error.message).toMatch(/--scope "chapter:9": film 1 has 3 chapter/);
  });
});
