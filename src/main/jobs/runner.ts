import type { z } from 'zod';
import type { Job } from '../../shared/api/entities';
import { AppError, toErrorPayload } from '../../shared/errors';
import type { EventBus } from '../app/event-bus';
import type { Project } from '../project/project';
import { getJob } from './job-store';

/**
 * One persisted job runner for every long task (plot generation, style learning, rendering, export).
 * Jobs live in the `job` table: params, status, progress, a checkpoint written by the job itself,
 * and the error. A job kind declares a `lane`; each lane runs one job at a time (the GPU lane keeps
 * one ONNX device busy, the LLM lane its own). After a crash, jobs left 'running' are re-queued and
 * resume from their checkpoint; a cancelled job can be resumed the same way.
 */

export interface JobContext<P> {
  readonly jobId: number;
  readonly params: P;
  /** What the job saved last time it ran (null on a first run). */
  readonly checkpoint: unknown;
  readonly signal: AbortSignal;
  readonly project: Project;
  readonly events: EventBus;
  /** Reports progress in [0, 1]; written to the database at most every `progressIntervalMs`. */
  progress(fraction: number, message?: string): void;
  /** Durably stores resume state; call after each finished unit of work. */
  saveCheckpoint(state: unknown): void;
}

export interface JobKind<P = unknown> {
  kind: string;
  lane: string;
  params: z.ZodType<P>;
  run(ctx: JobContext<P>): Promise<void>;
}

interface Running { controller: AbortController; promise: Promise<void> }

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

export class JobRunner {
  private readonly kinds = new Map<string, JobKind<any>>();
  private readonly running = new Map<number, Running>();
  private readonly busyLanes = new Set<string>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly project: Project,
    private readonly events: EventBus,
    kinds: JobKind<any>[] = [],
    private readonly progressIntervalMs = 250,
  ) {
    for (const k of kinds) this.register(k);
  }

  register(kind: JobKind<any>): void {
    this.kinds.set(kind.kind, kind);
  }

  /** Re-queues jobs a crash left 'running', then starts whatever can run. */
  start(): void {
    this.project.db.prepare(`UPDATE job SET status = 'queued', updated_at = ${NOW} WHERE status = 'running'`).run();
    this.pump();
  }

  enqueue(kind: string, params: unknown, filmId: number | null = null): Job {
    const k = this.kinds.get(kind);
    if (!k) throw new AppError('unknown_job_kind', `No job kind "${kind}"`, { kind });
    const parsed = k.params.safeParse(params);
    if (!parsed.success) {
      throw new AppError('invalid_input', `Invalid parameters for ${kind} job: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
    const id = Number(this.project.db.prepare('INSERT INTO job (kind, film_id, params_json) VALUES (?, ?, ?)')
      .run(kind, filmId, JSON.stringify(parsed.data)).lastInsertRowid);
    const job = getJob(this.project.db, id)!;
    this.events.emit('job.progress', job);
    this.pump();
    return job;
  }

  /** Cancels a queued or running job; a running one stops at its next step. */
  cancel(jobId: number): boolean {
    const { changes } = this.project.db.prepare(`UPDATE job SET status = 'cancelled', finished_at = ${NOW}, updated_at = ${NOW}
      WHERE id = ? AND status IN ('queued', 'running')`).run(jobId);
    this.running.get(jobId)?.controller.abort();
    if (changes > 0) this.emit(jobId);
    return changes > 0;
  }

  /** Puts a cancelled or failed job back in the queue; it continues from its checkpoint. */
  resume(jobId: number): boolean {
    const { changes } = this.project.db.prepare(`UPDATE job SET status = 'queued', error_json = NULL, finished_at = NULL,
      updated_at = ${NOW} WHERE id = ? AND status IN ('cancelled', 'failed')`).run(jobId);
    if (changes > 0) {
      this.emit(jobId);
      this.pump();
    }
    return changes > 0;
  }

  /** Stops taking work and aborts running jobs, leaving them 'running' so the next start resumes them. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const r of this.running.values()) r.controller.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.promise));
  }

  /** Resolves when nothing is running or runnable. */
  whenIdle(): Promise<void> {
    if (this.running.size === 0 && !this.nextRunnable()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private emit(jobId: number): void {
    const job = getJob(this.project.db, jobId);
    if (job) this.events.emit('job.progress', job);
  }

  private nextRunnable(): { id: number; kind: string } | undefined {
    const queued = this.project.db.prepare("SELECT id, kind FROM job WHERE status = 'queued' ORDER BY id").all() as
      { id: number; kind: string }[];
    return queued.find((j) => {
      const k = this.kinds.get(j.kind);
      return k && !this.busyLanes.has(k.lane) && !this.running.has(j.id);
    });
  }

  private pump(): void {
    if (this.stopped) return;
    for (let next = this.nextRunnable(); next; next = this.nextRunnable()) this.launch(next.id, this.kinds.get(next.kind)!);
    if (this.running.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private launch(jobId: number, kind: JobKind<any>): void {
    const db = this.project.db;
    const row = db.prepare('SELECT params_json, checkpoint_json FROM job WHERE id = ?').get(jobId) as
      { params_json: string; checkpoint_json: string | null };
    db.prepare(`UPDATE job SET status = 'running', started_at = coalesce(started_at, ${NOW}), updated_at = ${NOW}
      WHERE id = ?`).run(jobId);
    this.emit(jobId);
    const controller = new AbortController();
    const startedAt = Date.now();
    let lastWrite = 0;
    const startFraction = (db.prepare('SELECT progress FROM job WHERE id = ?').get(jobId) as { progress: number }).progress;

    const ctx: JobContext<unknown> = {
      jobId,
      params: kind.params.parse(JSON.parse(row.params_json)),
      checkpoint: row.checkpoint_json ? JSON.parse(row.checkpoint_json) : null,
      signal: controller.signal,
      project: this.project,
      events: this.events,
      progress: (fraction, message) => {
        const now = Date.now();
        if (now - lastWrite < this.progressIntervalMs && fraction < 1) return;
        lastWrite = now;
        const f = Math.min(1, Math.max(0, fraction));
        const done = f - startFraction;
        const eta = done > 0 ? ((now - startedAt) / 1000) * ((1 - f) / done) : null;
        db.prepare(`UPDATE job SET progress = ?, message = coalesce(?, message), eta_seconds = ?, updated_at = ${NOW}
          WHERE id = ? AND status = 'running'`).run(f, message ?? null, eta, jobId);
        this.emit(jobId);
      },
      saveCheckpoint: (state) => {
        db.prepare(`UPDATE job SET checkpoint_json = ?, updated_at = ${NOW} WHERE id = ?`).run(JSON.stringify(state), jobId);
      },
    };

    this.busyLanes.add(kind.lane);
    const promise = (async () => {
      try {
        await kind.run(ctx);
        // A job that returned because it was aborted is not finished: a cancelled one stays
        // cancelled, one stopped by shutdown stays 'running' and resumes on the next start.
        if (!controller.signal.aborted) db.prepare(`UPDATE job SET status = 'done', progress = 1, eta_seconds = 0, finished_at = ${NOW}, updated_at = ${NOW}
          WHERE id = ? AND status = 'running'`).run(jobId);
      } catch (err) {
        if (!controller.signal.aborted) {
          db.prepare(`UPDATE job SET status = 'failed', error_json = ?, finished_at = ${NOW}, updated_at = ${NOW}
            WHERE id = ? AND status = 'running'`).run(JSON.stringify(toErrorPayload(err)), jobId);
        }
      } finally {
        this.running.delete(jobId);
        this.busyLanes.delete(kind.lane);
        if (db.open) this.emit(jobId);
        if (db.open) this.pump();
      }
    })();
    this.running.set(jobId, { controller, promise });
  }
}
