import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventBus } from '../../src/main/app/event-bus';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner, type JobKind } from '../../src/main/jobs/runner';
import { createProject, openProject } from '../../src/main/project/project';
import { useTempDir } from '../support/tmp';

/** A job that counts to `n`, checkpointing after each unit and recording which units ran. */
function countingKind(ran: number[], opts: { failAt?: number; gate?: Promise<void> } = {}): JobKind<{ n: number }> {
  return {
    kind: 'count',
    lane: 'test',
    params: z.object({ n: z.number().int().positive() }),
    async run(ctx) {
      let i = (ctx.checkpoint as { next: number } | null)?.next ?? 0;
      for (; i < ctx.params.n; i++) {
        if (ctx.signal.aborted) return;
        if (opts.gate && i === 2) await opts.gate;
        if (ctx.signal.aborted) return;
        if (i === opts.failAt) throw new Error(`unit ${i} broke`);
        ran.push(i);
        ctx.saveCheckpoint({ next: i + 1 });
        ctx.progress((i + 1) / ctx.params.n, `unit ${i + 1}`);
      }
    },
  };
}

describe('persisted job runner', () => {
  const tmp = useTempDir();

  it('runs a job to completion and reports progress events', async () => {
    const p = createProject(join(tmp(), 'p'));
    const events = new EventBus();
    const seen: any[] = [];
    events.onAny((e, payload) => seen.push([e, payload]));
    const ran: number[] = [];
    const runner = new JobRunner(p, events, [countingKind(ran)], 0);
    runner.start();
    const job = runner.enqueue('count', { n: 5 });
    await runner.whenIdle();
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    expect(getJob(p.db, job.id)).toMatchObject({ status: 'done', progress: 1 });
    expect(seen.filter(([e]) => e === 'job.progress').map(([, j]) => j.status)).toContain('running');
    p.close();
  });

  it('records failures with their message and rejects bad parameters', async () => {
    const p = createProject(join(tmp(), 'p'));
    const runner = new JobRunner(p, new EventBus(), [countingKind([], { failAt: 1 })], 0);
    runner.start();
    expect(() => runner.enqueue('count', { n: -1 })).toThrowError(/Invalid parameters/);
    expect(() => runner.enqueue('nope', {})).toThrowError(/No job kind/);
    const job = runner.enqueue('count', { n: 3 });
    await runner.whenIdle();
    expect(getJob(p.db, job.id)).toMatchObject({ status: 'failed', error: { message: 'unit 1 broke' } });
    p.close();
  });

  it('resumes after a crash from the checkpoint without redoing finished units', async () => {
    const dir = join(tmp(), 'p');
    const p = createProject(dir);
    const ran1: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const runner = new JobRunner(p, new EventBus(), [countingKind(ran1, { gate })], 0);
    runner.start();
    const job = runner.enqueue('count', { n: 5 });
    await new Promise((r) => setTimeout(r, 50));
    expect(ran1).toEqual([0, 1]);
    // Simulate a crash: stop leaves the job 'running' in the database.
    const stopped = runner.stop();
    release();
    await stopped;
    expect(getJob(p.db, job.id)!.status).toBe('running');
    p.close();

    const p2 = openProject(dir);
    const ran2: number[] = [];
    const runner2 = new JobRunner(p2, new EventBus(), [countingKind(ran2)], 0);
    runner2.start();
    await runner2.whenIdle();
    expect(ran2).toEqual([2, 3, 4]);
    expect(getJob(p2.db, job.id)!.status).toBe('done');
    p2.close();
  });

  it('cancels a running job and resumes it later from where it stopped', async () => {
    const p = createProject(join(tmp(), 'p'));
    const ran: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const runner = new JobRunner(p, new EventBus(), [countingKind(ran, { gate })], 0);
    runner.start();
    const job = runner.enqueue('count', { n: 4 });
    await new Promise((r) => setTimeout(r, 50));
    expect(runner.cancel(job.id)).toBe(true);
    release();
    await runner.whenIdle();
    expect(getJob(p.db, job.id)!.status).toBe('cancelled');
    expect(ran).toEqual([0, 1]);
    runner.register(countingKind(ran));
    expect(runner.resume(job.id)).toBe(true);
    await runner.whenIdle();
    expect(ran).toEqual([0, 1, 2, 3]);
    expect(getJob(p.db, job.id)!.status).toBe('done');
    p.close();
  });

  it('runs one job at a time per lane', async () => {
    const p = createProject(join(tmp(), 'p'));
    let inFlight = 0;
    let peak = 0;
    const kind: JobKind<{ n: number }> = {
      kind: 'slow', lane: 'gpu', params: z.object({ n: z.number() }),
      async run() {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
      },
    };
    const runner = new JobRunner(p, new EventBus(), [kind], 0);
    runner.start();
    for (let i = 0; i < 4; i++) runner.enqueue('slow', { n: i });
    await runner.whenIdle();
    expect(peak).toBe(1);
    p.close();
  });
});
