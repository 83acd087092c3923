import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { EventBus } from '../../src/main/app/event-bus';
import { runExport } from '../../src/main/export/exporter';
import { exportJobKind } from '../../src/main/export/job';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner } from '../../src/main/jobs/runner';
import type { Project } from '../../src/main/project/project';
import { approveAll, probe } from './helpers';

/** Interrupted exports: a second run finishes the job without re-encoding the clips already written. */
describe('interrupted and resumed exports', () => {
  let dir: string;
  let p: Project;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'df-export-inc-'));
    p = createProjectWithSample(join(dir, 'project'), true);
    approveAll(p, 1);
  });
  afterAll(() => {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops on abort midway and the next run encodes only the clips that were missing', async () => {
    const out = join(dir, 'direct');
    const controller = new AbortController();
    const finished: string[] = [];
    await expect(runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32 }, {
      signal: controller.signal,
      onClip: (rel) => {
        finished.push(rel);
        if (finished.length === 2) controller.abort();
      },
    })).rejects.toMatchObject({ code: 'cancelled' });
    // Clips under way beside the second one (parallel encoding) may still finish; none starts after.
    expect(finished.length).toBeGreaterThanOrEqual(2);
    expect(finished.length).toBeLessThan(10);
    expect(readdirSync(join(out, 'dreamframe-state', 'tmp'))).toEqual([]);
    expect(readdirSync(out)).not.toContain('llama_vid.json');

    const reused: string[] = [];
    const res = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32 }, {
      onClip: (rel, wasReused) => { if (wasReused) reused.push(rel); },
    });
    expect(res.clips).toEqual({ total: 10, encoded: 10 - finished.length, reused: finished.length });
    expect([...reused].sort()).toEqual([...finished].sort());
    const film = await probe(join(out, 'videos', `${res.manifest.films[0].dir}_film.mp4`));
    expect(film.frames).toBe(24);
  }, 60_000);

  it('runs as a persisted job: cancelled midway, resumed from its checkpoint, done without re-encoding', async () => {
    const out = join(dir, 'job');
    const events = new EventBus();
    const runner = new JobRunner(p, events, [exportJobKind], 0);
    runner.start();
    let cancelledAt: string | null = null;
    const off = events.onAny((event, payload) => {
      const job = payload as { id: number; status: string; message: string | null };
      if (event === 'job.progress' && job.status === 'running' && !cancelledAt && job.message?.startsWith('Clip 4/')) {
        cancelledAt = job.message;
        runner.cancel(job.id);
      }
    });
    const job = runner.enqueue('export', { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32 }, 1);
    await runner.whenIdle();
    expect(cancelledAt).not.toBeNull();
    expect(getJob(p.db, job.id)!.status).toBe('cancelled');
    const checkpoint = () => JSON.parse((p.db.prepare('SELECT checkpoint_json FROM job WHERE id = ?').get(job.id) as { checkpoint_json: string }).checkpoint_json);
    const finished = (checkpoint().clipsDone as string[]).length;
    expect(finished).toBeGreaterThanOrEqual(3);
    expect(finished).toBeLessThan(10);

    off();
    expect(runner.resume(job.id)).toBe(true);
    await runner.whenIdle();
    const done = getJob(p.db, job.id)!;
    expect(done.status).toBe('done');
    expect(done.progress).toBe(1);
    expect(checkpoint().clips).toEqual({ total: 10, encoded: 10 - finished, reused: finished });
    await runner.stop();
  }, 60_000);
});
