import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventBus } from '../../src/main/app/event-bus';
import type { Job } from '../../src/shared/api/entities';
import { waitForJobs } from '../../src/main/jobs/foreground';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner, type JobContext, type JobKind, type RunnerOptions } from '../../src/main/jobs/runner';
import { createFilms } from '../../src/main/plot/plot-service';
import { createProject, openProject, type Project } from '../../src/main/project/project';
import { useTempDir } from '../support/tmp';

/**
 * Two runners on one project file, each through its own Project handle (its own SQLite connection),
 * stand for two processes: the app or `dreamframe serve`, and a CLI command.
 */

/** Counts to n, one checkpointed unit at a time; unit `holdAt` waits until `release()`. */
function unitsKind(ran: number[], opts: { holdAt?: number } = {}) {
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  let reachedHold!: () => void;
  const atHold = new Promise<void>((r) => { reachedHold = r; });
  const signals: AbortSignal[] = [];
  const kind: JobKind<{ n: number }> = {
    kind: 'units',
    lane: 'gpu',
    params: z.object({ n: z.number().int().positive() }),
    async run(ctx) {
      signals.push(ctx.signal);
      for (let i = (ctx.checkpoint as { next: number } | null)?.next ?? 0; i < ctx.params.n; i++) {
        if (i === opts.holdAt) {
          reachedHold();
          await Promise.race([held, new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }))]);
        }
        if (ctx.signal.aborted) return;
        ran.push(i);
        ctx.saveCheckpoint({ next: i + 1 });
        ctx.progress((i + 1) / ctx.params.n, `unit ${i + 1}`);
      }
    },
  };
  return { kind, release, atHold, signals };
}

const FAST: RunnerOptions = { pollMs: 20, heartbeatMs: 50 };

async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pid that surely belongs to no process: one of a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

function writeLease(p: Project, row: { pid: number; hostname: string; heartbeatAt?: string }): void {
  const at = row.heartbeatAt ?? new Date().toISOString();
  p.db.prepare(`INSERT OR REPLACE INTO runner_lease (id, holder, pid, hostname, label, acquired_at, heartbeat_at)
    VALUES (1, 'crashed-holder', ?, ?, 'dreamframe serve', ?, ?)`).run(row.pid, row.hostname, at, at);
}

describe('runner lease: one job runner per project across processes', () => {
  const tmp = useTempDir();
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  function open(dir: string, create = false): Project {
    const p = create ? createProject(dir) : openProject(dir);
    cleanup.push(() => { if (p.db.open) p.close(); });
    return p;
  }

  function runner(p: Project, kind: JobKind<any>, options: RunnerOptions = {}, events = new EventBus()): JobRunner {
    const r = new JobRunner(p, events, [kind], 0, { ...FAST, ...options });
    cleanup.push(() => r.stop());
    return r;
  }

  it('only the holder runs jobs; a job queued by the other runner runs in the holder, and the other sees its progress', async () => {
    const dir = join(tmp(), 'p');
    const serve = open(dir, true);
    const cli = open(dir);
    const ranServe: number[] = [];
    const ranCli: number[] = [];
    const held = unitsKind(ranServe, { holdAt: 1 });
    const serveRunner = runner(serve, held.kind, { label: 'dreamframe serve' });
    serveRunner.start();
    const cliEvents = new EventBus();
    const seenByCli: Job[] = [];
    cliEvents.onAny((name, payload) => { if (name === 'job.progress') seenByCli.push(payload as Job); });
    const cliRunner = runner(cli, unitsKind(ranCli).kind, { label: 'dreamframe render-film' }, cliEvents);
    cliRunner.start();

    expect(serveRunner.holdsLease).toBe(true);
    expect(cliRunner.holdsLease).toBe(false);
    expect(cliRunner.leaseHolder()).toMatchObject({ label: 'dreamframe serve', pid: process.pid, hostname: hostname(), holder: serveRunner.leaseId });

    const job = cliRunner.enqueue('units', { n: 3 });
    await held.atHold;
    // The jobs view of the process that queued it hears the holder's progress through the table watch.
    await until('the CLI side saw unit 1 done', () => seenByCli.some((j) => j.id === job.id && j.status === 'running' && j.message === 'unit 1'));
    held.release();
    await waitForJobs(cli.db, [job.id]);
    expect(getJob(cli.db, job.id)).toMatchObject({ status: 'done', progress: 1 });
    expect(ranServe).toEqual([0, 1, 2]);
    expect(ranCli).toEqual([]);
    await until('the CLI side saw the job done', () => seenByCli.some((j) => j.id === job.id && j.status === 'done'));
  });

  it('a cancel from another process that lands just before the holder reports progress still stops the job', async () => {
    const dir = join(tmp(), 'p');
    const serve = open(dir, true);
    const cli = open(dir);
    let ctxOf!: JobContext<Record<string, never>>;
    let started!: () => void;
    const running = new Promise<void>((r) => { started = r; });
    const kind: JobKind<Record<string, never>> = {
      kind: 'waits',
      lane: 'gpu',
      params: z.object({}),
      async run(ctx) {
        ctxOf = ctx;
        started();
        await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
      },
    };
    const serveRunner = runner(serve, kind);
    serveRunner.start();
    const cliRunner = runner(cli, kind);
    cliRunner.start();
    const job = serveRunner.enqueue('waits', {});
    await running;
    // In one synchronous block, so no watch tick runs in between: the other process cancels the row, then the
    // job reports progress, whose write finds the row cancelled and whose report records that state as seen.
    expect(cliRunner.cancel(job.id)).toBe(true);
    ctxOf.progress(0.5, 'half way');
    await until('the holder aborted the cancelled job', () => ctxOf.signal.aborted, 2000);
    await serveRunner.whenIdle();
    expect(getJob(serve.db, job.id)!.status).toBe('cancelled');
  });

  it('a film job another process runs makes this process tell its views to reload that film', async () => {
    const dir = join(tmp(), 'p');
    const serve = open(dir, true);
    const cli = open(dir);
    const [filmId] = createFilms(cli.db, { themes: ['a lighthouse keeper'] });
    const ranCli: number[] = [];
    const held = unitsKind(ranCli, { holdAt: 1 });
    const cliEvents = new EventBus();
    const cliReloads: unknown[] = [];
    cliEvents.onAny((name, payload) => { if (name === 'data.changed') cliReloads.push(payload); });
    const cliRunner = runner(cli, held.kind, { label: 'dreamframe render-film' }, cliEvents);
    cliRunner.start();
    const serveEvents = new EventBus();
    const reloads: unknown[] = [];
    serveEvents.onAny((name, payload) => { if (name === 'data.changed') reloads.push(payload); });
    const serveRunner = runner(serve, unitsKind([]).kind, { label: 'dreamframe serve' }, serveEvents);
    serveRunner.start();
    expect(cliRunner.holdsLease).toBe(true);

    const job = cliRunner.enqueue('units', { n: 2 }, filmId);
    await held.atHold;
    await until('the serve side was told to reload the film', () => reloads.length > 0);
    expect(reloads[0]).toEqual({ filmId, entities: [] });
    held.release();
    await waitForJobs(cli.db, [job.id]);
    expect(ranCli).toEqual([0, 1]);
    // Jobs that run here report their own changes: the holder emits no such reload.
    expect(cliReloads).toEqual([]);
  });

  it("leaves a live holder's running job alone, and takes over (resuming it) once the holder stops", async () => {
    const dir = join(tmp(), 'p');
    const serve = open(dir, true);
    const cli = open(dir);
    const ranServe: number[] = [];
    const ranCli: number[] = [];
    const held = unitsKind(ranServe, { holdAt: 2 });
    const serveRunner = runner(serve, held.kind);
    serveRunner.start();
    const job = serveRunner.enqueue('units', { n: 5 });
    await held.atHold;

    const cliRunner = runner(cli, unitsKind(ranCli).kind);
    cliRunner.start();
    await sleep(150); // several polls and lease retries of the second runner
    expect(cliRunner.holdsLease).toBe(false);
    expect(getJob(cli.db, job.id)!.status).toBe('running');
    expect(ranCli).toEqual([]);

    // The holder stops mid-job (as on quit): the job stays 'running' and the lease is released.
    await serveRunner.stop();
    expect(getJob(cli.db, job.id)!.status).toBe('running');
    await until('the second runner took the lease', () => cliRunner.holdsLease);
    await waitForJobs(cli.db, [job.id]);
    expect(getJob(cli.db, job.id)!.status).toBe('done');
    expect(ranServe).toEqual([0, 1]);
    expect(ranCli).toEqual([2, 3, 4]);
  });

  it('takes the lease of a crashed holder whose pid is gone at once, and resumes its running job from the checkpoint', async () => {
    const dir = join(tmp(), 'p');
    const p = open(dir, true);
    const id = Number(p.db.prepare(`INSERT INTO job (kind, params_json, status, checkpoint_json, progress)
      VALUES ('units', '{"n":4}', 'running', '{"next":3}', 0.75)`).run().lastInsertRowid);
    writeLease(p, { pid: deadPid(), hostname: hostname() });
    const ran: number[] = [];
    const r = runner(p, unitsKind(ran).kind);
    r.start();
    expect(r.holdsLease).toBe(true);
    await r.whenIdle();
    expect(ran).toEqual([3]);
    expect(getJob(p.db, id)!.status).toBe('done');
  });

  it('takes the lease of a holder on another host only after its heartbeat stood still for the timeout', async () => {
    const dir = join(tmp(), 'p');
    const p = open(dir, true);
    const stamp = open(dir);
    // A crash long ago on another host; but a holder that keeps beating is never taken over.
    writeLease(stamp, { pid: 1, hostname: 'render-box', heartbeatAt: '2020-01-01T00:00:00.000Z' });
    const beat = setInterval(() => stamp.db.prepare('UPDATE runner_lease SET heartbeat_at = ?').run(new Date().toISOString()), 30);
    const r = runner(p, unitsKind([]).kind, { staleAfterMs: 200 });
    r.start();
    await sleep(600);
    expect(r.holdsLease).toBe(false);
    clearInterval(beat);
    const stoppedBeating = Date.now();
    await until('the lease was taken', () => r.holdsLease);
    expect(Date.now() - stoppedBeating).toBeGreaterThanOrEqual(150);
    expect(r.leaseHolder()).toMatchObject({ holder: r.leaseId, pid: process.pid });
  });

  it('does not take the lease of a live process on this host on the short timeout', async () => {
    const dir = join(tmp(), 'p');
    const p = open(dir, true);
    // The parent of this test worker is alive; its heartbeat stands still, as in a long synchronous ONNX call.
    writeLease(p, { pid: process.ppid, hostname: hostname() });
    const patient = runner(p, unitsKind([]).kind, { staleAfterMs: 50, liveHolderStaleAfterMs: 60_000 });
    patient.start();
    await sleep(400);
    expect(patient.holdsLease).toBe(false);
    await patient.stop();
    const q = open(dir);
    const hasty = runner(q, unitsKind([]).kind, { staleAfterMs: 50, liveHolderStaleAfterMs: 200 });
    hasty.start();
    await until('the lease was taken after the live-holder timeout', () => hasty.holdsLease);
  });

  it('takes over at once from a runner of this process whose project was closed without stopping it', async () => {
    const dir = join(tmp(), 'p');
    const first = open(dir, true);
    const r1 = runner(first, unitsKind([]).kind);
    r1.start();
    expect(r1.holdsLease).toBe(true);
    first.close();
    const second = open(dir);
    const r2 = runner(second, unitsKind([]).kind);
    r2.start();
    expect(r2.holdsLease).toBe(true);
  });

  it("a cancel from another process stops the holder's job between steps; a resume there continues it", async () => {
    const dir = join(tmp(), 'p');
    const serve = open(dir, true);
    const cli = open(dir);
    const ran: number[] = [];
    const held = unitsKind(ran, { holdAt: 2 });
    const serveRunner = runner(serve, held.kind);
    serveRunner.start();
    const cliRunner = runner(cli, unitsKind([]).kind);
    cliRunner.start();
    const job = cliRunner.enqueue('units', { n: 4 });
    await held.atHold;
    expect(cliRunner.cancel(job.id)).toBe(true);
    await until('the holder aborted the job', () => held.signals[0]?.aborted === true);
    await serveRunner.whenIdle();
    expect(getJob(serve.db, job.id)!.status).toBe('cancelled');
    expect(ran).toEqual([0, 1]);

    held.release();
    expect(cliRunner.resume(job.id)).toBe(true);
    await waitForJobs(cli.db, [job.id]);
    expect(getJob(cli.db, job.id)!.status).toBe('done');
    expect(ran).toEqual([0, 1, 2, 3]);
  });

  it('a holder whose lease was taken over stops running its jobs', async () => {
    const dir = join(tmp(), 'p');
    const p = open(dir, true);
    const other = open(dir);
    const ran: number[] = [];
    const held = unitsKind(ran, { holdAt: 1 });
    const r = runner(p, held.kind);
    r.start();
    r.enqueue('units', { n: 3 });
    await held.atHold;
    // Another process judged this one dead and took the lease.
    writeLease(other, { pid: deadPid(), hostname: 'elsewhere' });
    await until('the runner noticed', () => !r.holdsLease);
    expect(held.signals[0].aborted).toBe(true);
    await r.whenIdle();
    expect(ran).toEqual([0]);
  });

  it('a holder that has not noticed a takeover yet claims no new job', async () => {
    const dir = join(tmp(), 'p');
    const p = open(dir, true);
    const other = open(dir);
    const ran: number[] = [];
    const r = runner(p, unitsKind(ran).kind, { heartbeatMs: 60_000 });
    r.start();
    writeLease(other, { pid: deadPid(), hostname: 'elsewhere' });
    expect(r.holdsLease).toBe(true); // its next heartbeat is far away
    const job = r.enqueue('units', { n: 2 });
    // The claim itself checks the lease: the job stays queued and the runner learns it lost the lease.
    expect(r.holdsLease).toBe(false);
    await sleep(100);
    expect(getJob(p.db, job.id)!.status).toBe('queued');
    expect(ran).toEqual([]);
  });
});
