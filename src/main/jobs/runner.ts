import type { z } from 'zod';
import { performance } from 'node:perf_hooks';
import type { Job } from '../../shared/api/entities';
import { AppError, toErrorPayload } from '../../shared/errors';
import type { EventBus } from '../app/event-bus';
import type { Project } from '../project/project';
import { getJob, jobFromRow, type JobRow } from './job-store';
import { RunnerLease, type LeaseHolder } from './lease';
import { redactJson, redactSecrets } from '../util/redact-secrets';
import { withDatabasePath } from '../db/write-retry';

/**
 * One persisted job runner for every long task (plot generation, style learning, rendering, export).
 * Jobs live in the `job` table: params, status, progress, a checkpoint written by the job itself,
 * and the error. A job kind declares a `lane`; each lane runs one job at a time (the GPU lane keeps
 * one ONNX device busy, the LLM lane its own). After a crash, jobs left 'running' are re-queued and
 * resume from their checkpoint; a cancelled job can be resumed the same way.
 *
 * The same project can be open in several processes (the app or `dreamframe serve`, and a CLI
 * command). Only the runner holding the project's lease (./lease.ts) runs jobs and recovers
 * 'running' ones; the others only enqueue, cancel and resume rows and keep trying to take the lease.
 * Every runner polls the job table cheaply (`PRAGMA data_version`), so the holder notices rows
 * queued or cancelled by other processes and every process reports their progress as `job.progress`.
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
  /**
   * For kinds that capture settings when queued (so a resumed job runs like it started): the parameters with
   * today's settings instead, for "retry with current settings". Kinds without it cannot be retried that way.
   */
  withCurrentSettings?(project: Project, params: P): P;
  /** One line naming the settings a job of this kind runs with (shown when it is resumed). */
  describeSettings?(params: P): string;
}

interface Running { controller: AbortController; promise: Promise<void> }

export interface RunnerOptions {
  /** Names this process to other processes of the same project, e.g. "dreamframe serve". */
  label?: string;
  /** How often the job table is checked for other processes' changes, and the lease retried. */
  pollMs?: number;
  /** How often the holder refreshes the lease. */
  heartbeatMs?: number;
  /** A holder on another host whose heartbeat stands still this long is taken over. */
  staleAfterMs?: number;
  /** The same for a holder whose pid is alive on this host (it may be busy in a long synchronous call). */
  liveHolderStaleAfterMs?: number;
}

const DEFAULT_OPTIONS: Required<RunnerOptions> = {
  label: 'dreamframe', pollMs: 500, heartbeatMs: 5_000, staleAfterMs: 15_000, liveHolderStaleAfterMs: 10 * 60_000,
};

/** Rows changed this long before the newest one seen are still re-read, for writers that committed late. */
const LATE_COMMIT_SLACK_MS = 60_000;

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

export class JobRunner {
  private readonly kinds = new Map<string, JobKind<any>>();
  private readonly running = new Map<number, Running>();
  /** Failures that could not be written to the job row (a full or read-only disk); the row stays 'running'. */
  private readonly unrecorded = new Map<number, { code: string; message: string }>();
  private readonly busyLanes = new Set<string>();
  private readonly options: Required<RunnerOptions>;
  private readonly lease: RunnerLease;
  private holding = false;
  private released = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private lastHeartbeat = 0;
  private idleWaiters: (() => void)[] = [];
  /** Job table watch: the connection's data_version, each recent row's last reported state, the newest updated_at. */
  private dataVersion = -1;
  private readonly reported = new Map<number, { updatedAt: string; sig: string }>();
  private newestUpdate = '';

  constructor(
    private readonly project: Project,
    private readonly events: EventBus,
    kinds: JobKind<any>[] = [],
    private readonly progressIntervalMs = 250,
    options: RunnerOptions = {},
  ) {
    for (const k of kinds) this.register(k);
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.lease = new RunnerLease(project.db, this.options.label, this.options, () => !this.released && this.project.db.open);
  }

  register(kind: JobKind<any>): void {
    this.kinds.set(kind.kind, kind);
  }

  /**
   * Takes the project's lease if it can (re-queueing jobs a crash left 'running'), starts whatever
   * can run, and from then on watches the job table and retries the lease. The first enqueue or
   * resume starts a runner that was not started; starting twice, or after stop(), does nothing.
   */
  start(): void {
    if (this.timer || this.stopped) return;
    this.guarded(() => {
      this.watchJobTable(false);
      this.tryTakeLease();
    });
    this.timer = setInterval(() => this.tick(), this.options.pollMs);
    // Callers that wait for a job keep the process alive themselves; a forgotten runner must not.
    this.timer.unref();
    // Jobs recovered at start-up begin on a later turn of the event loop, so whatever opened the project
    // (serve printing its URL, the window loading) finishes first even when a job's first step is slow.
    setImmediate(() => { if (this.project.db.open) this.pump(); });
  }

  /** Whether this runner holds the project's lease, i.e. runs its jobs. */
  get holdsLease(): boolean {
    return this.holding;
  }

  /** Who holds the project's lease now (this runner or another), or null when nobody does. */
  leaseHolder(): LeaseHolder | null {
    return this.lease.holder();
  }

  /** This runner's id in the lease table. */
  get leaseId(): string {
    return this.lease.id;
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
    const job = this.emit(id)!;
    // A runner used without start() still runs what it is given, as it always did.
    this.start();
    this.pump();
    return job;
  }

  /**
   * Cancels a queued or running job; a running one stops at its next step (in another process, at
   * its next step after that process's runner sees the row changed).
   */
  cancel(jobId: number): boolean {
    const { changes } = this.project.db.prepare(`UPDATE job SET status = 'cancelled', finished_at = ${NOW}, updated_at = ${NOW}
      WHERE id = ? AND status IN ('queued', 'running')`).run(jobId);
    this.running.get(jobId)?.controller.abort();
    if (changes > 0) this.emit(jobId);
    return changes > 0;
  }

  /**
   * Puts a cancelled or failed job back in the queue; it continues from its checkpoint. By default it keeps
   * the parameters it was queued with; `useCurrentSettings` swaps in today's settings first (kinds that
   * define `withCurrentSettings`), e.g. after the model path that made it fail was corrected.
   */
  resume(jobId: number, useCurrentSettings = false): boolean {
    const db = this.project.db;
    const changes = db.transaction(() => {
      const updated = db.prepare(`UPDATE job SET status = 'queued', error_json = NULL, finished_at = NULL,
        updated_at = ${NOW} WHERE id = ? AND status IN ('cancelled', 'failed')`).run(jobId).changes;
      if (updated > 0 && useCurrentSettings) this.takeCurrentSettings(jobId);
      return updated;
    })();
    if (changes > 0) {
      this.emit(jobId);
      this.start();
      this.pump();
    }
    return changes > 0;
  }

  private jobKindOf(jobId: number): { kind: JobKind<any>; paramsJson: string } {
    const row = this.project.db.prepare<[number], { kind: string; params_json: string }>('SELECT kind, params_json FROM job WHERE id = ?').get(jobId);
    if (!row) throw new AppError('not_found', `No job with id ${jobId}`, { jobId });
    const kind = this.kinds.get(row.kind);
    if (!kind) throw new AppError('unknown_job_kind', `No job kind "${row.kind}"`, { kind: row.kind });
    return { kind, paramsJson: row.params_json };
  }

  private takeCurrentSettings(jobId: number): void {
    const { kind, paramsJson } = this.jobKindOf(jobId);
    if (!kind.withCurrentSettings) {
      throw new AppError('invalid_input', `useCurrentSettings: a ${kind.kind} job has no settings of its own to replace`, { jobId, kind: kind.kind });
    }
    const next = kind.params.parse(kind.withCurrentSettings(this.project, kind.params.parse(JSON.parse(paramsJson))));
    this.project.db.prepare(`UPDATE job SET params_json = ?, updated_at = ${NOW} WHERE id = ?`).run(JSON.stringify(next), jobId);
  }

  /** The settings a job runs with, in one line (null for unknown jobs and kinds that do not say). */
  describeSettings(jobId: number): string | null {
    const exists = this.project.db.prepare<[number], { kind: string }>('SELECT kind FROM job WHERE id = ?').get(jobId);
    if (!exists || !this.kinds.get(exists.kind)?.describeSettings) return null;
    const { kind, paramsJson } = this.jobKindOf(jobId);
    return kind.describeSettings!(kind.params.parse(JSON.parse(paramsJson)));
  }

  /**
   * Stops taking work and aborts running jobs, leaving them 'running' so the next start resumes them;
   * then releases the lease (after the jobs returned, so nobody resumes a job still winding down).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const r of this.running.values()) r.controller.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.promise));
    this.released = true;
    // A lease that cannot be given back (full disk) expires by itself; stopping must not fail on it.
    if (this.holding) this.guarded(() => this.lease.release());
    else this.lease.forget();
    this.holding = false;
  }

  /**
   * Resolves when nothing runs here and, while this runner holds the lease, nothing it can run is
   * queued. (A runner without the lease runs nothing: wait for a job's row to finish instead.)
   */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean {
    return this.running.size === 0 && (!this.holding || !this.nextRunnable());
  }

  private emit(jobId: number): Job | null {
    const row = getJob(this.project.db, jobId);
    const unrecorded = this.unrecorded.get(jobId);
    // A failure the full disk kept out of the row is still reported as what it is.
    const job = row && unrecorded && row.status === 'running' ? { ...row, status: 'failed' as const, error: unrecorded } : row;
    if (job) {
      this.reported.set(job.id, { updatedAt: job.updatedAt, sig: signature(job) });
      this.events.emit('job.progress', job);
      // Another process may have cancelled the row just before this read; the table watch will not report the
      // row again (its state is now recorded as seen), so the job running here must be stopped now.
      this.stopIfNotRunning(job);
    }
    return job;
  }

  /** Aborts the job this runner runs when its row says it should not run (cancelled elsewhere). */
  private stopIfNotRunning(job: Job): void {
    if (job.status !== 'running') this.running.get(job.id)?.controller.abort();
  }

  private tick(): void {
    if (!this.project.db.open) {
      // Closed without stop(): nothing more to do, and other runners of this process may take over.
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      this.released = true;
      this.lease.forget();
      return;
    }
    this.guarded(() => {
      let lost = false;
      if (this.holding && performance.now() - this.lastHeartbeat >= this.options.heartbeatMs) {
        this.lastHeartbeat = performance.now();
        lost = !this.lease.heartbeat();
        if (lost) this.loseLease();
      }
      const taken = !this.holding && !lost && this.tryTakeLease();
      if (this.watchJobTable(true) || taken || lost) this.pump();
    });
  }

  /** Lease and watch work never throws out of a timer: a busy database is simply retried next tick. */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (err) {
      console.warn(redactSecrets(`dreamframe job runner (${this.project.dir}): ${(err as Error).message}`));
    }
  }

  /** Returns whether this runner took the lease just now. */
  private tryTakeLease(): boolean {
    const requeued: number[] = [];
    const taken = this.lease.tryAcquire(() => {
      // The previous holder is gone: its 'running' jobs run nowhere now, so they are queued again.
      const rows = this.project.db.prepare<unknown[], { id: number }>("SELECT id FROM job WHERE status = 'running'").all();
      this.project.db.prepare(`UPDATE job SET status = 'queued', updated_at = ${NOW} WHERE status = 'running'`).run();
      requeued.push(...rows.map((r) => r.id));
    });
    if (!taken) return false;
    this.holding = true;
    this.lastHeartbeat = performance.now();
    for (const id of requeued) this.emit(id);
    return true;
  }

  /** Another runner took the lease over (this process looked dead to it): stop running jobs here. */
  private loseLease(): void {
    this.holding = false;
    for (const r of this.running.values()) r.controller.abort();
  }

  /**
   * Reports job rows other processes changed (`job.progress`), lets the holder pick up rows they
   * queued, and stops a job here that another process cancelled. Costs one pragma when nothing
   * changed; returns whether any row changed.
   */
  private watchJobTable(report: boolean): boolean {
    const db = this.project.db;
    const version = db.pragma('data_version', { simple: true }) as number;
    if (version === this.dataVersion) return false;
    this.dataVersion = version;
    const rows = db.prepare<unknown[], JobRow>('SELECT * FROM job WHERE updated_at >= ? ORDER BY updated_at, id').all(this.recentFloor());
    let changed = false;
    for (const row of rows) {
      if (row.updated_at > this.newestUpdate) this.newestUpdate = row.updated_at;
      const job = jobFromRow(row);
      const sig = signature(job);
      if (this.reported.get(job.id)?.sig === sig) continue;
      this.reported.set(job.id, { updatedAt: job.updatedAt, sig });
      changed = true;
      if (!report) continue;
      this.events.emit('job.progress', job);
      this.stopIfNotRunning(job);
      // A job another process runs writes the film (renders, plot nodes) without events here: tell views to reload.
      if (job.filmId !== null && !this.running.has(job.id)) this.events.emit('data.changed', { filmId: job.filmId, entities: [] });
    }
    const floor = this.recentFloor();
    for (const [id, r] of this.reported) if (r.updatedAt < floor) this.reported.delete(id);
    return changed;
  }

  /** Rows updated since then are re-read: the newest update seen, less the slack for late commits. */
  private recentFloor(): string {
    const newest = Date.parse(this.newestUpdate);
    return Number.isNaN(newest) ? '' : new Date(newest - LATE_COMMIT_SLACK_MS).toISOString();
  }

  private nextRunnable(): { id: number; kind: string } | undefined {
    const queued = this.project.db.prepare<unknown[], { id: number; kind: string }>("SELECT id, kind FROM job WHERE status = 'queued' ORDER BY id").all();
    return queued.find((j) => {
      const k = this.kinds.get(j.kind);
      return k && !this.busyLanes.has(k.lane) && !this.running.has(j.id);
    });
  }

  private pump(): void {
    if (this.stopped) return;
    if (this.holding) {
      for (let next = this.nextRunnable(); next; next = this.nextRunnable()) {
        if (this.launch(next.id, this.kinds.get(next.kind)!) === 'lease lost') {
          this.loseLease();
          break;
        }
      }
    }
    if (this.idleWaiters.length > 0 && this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Marks a job failed. When even that write fails (the disk that filled up holds the database too), the
   * failure is kept here for `unrecordedFailure` and the row stays 'running': the next runner to take the
   * lease re-queues it, so the job resumes from its checkpoint once there is space again.
   */
  private recordFailure(jobId: number, err: unknown): void {
    const payload = JSON.parse(redactJson(toErrorPayload(withDatabasePath(err, this.project.dbFile)))) as { code: string; message: string };
    try {
      this.project.db.prepare(`UPDATE job SET status = 'failed', error_json = ?, finished_at = ${NOW}, updated_at = ${NOW}
        WHERE id = ? AND status = 'running'`).run(JSON.stringify(payload), jobId);
    } catch (writeErr) {
      const cause = toErrorPayload(withDatabasePath(writeErr, this.project.dbFile));
      // The job's own error names what it met; a job that finished but could not say so gets the write's error.
      this.unrecorded.set(jobId, payload.code === 'internal' ? cause : payload);
    }
  }

  /** The failure of a job this runner could not record in the database (see recordFailure); null otherwise. */
  unrecordedFailure(jobId: number): { code: string; message: string } | null {
    return this.unrecorded.get(jobId) ?? null;
  }

  /** Starts a queued job; 'lease lost' when another runner took the lease (nothing was started then). */
  private launch(jobId: number, kind: JobKind<any>): 'started' | 'not queued' | 'lease lost' {
    const db = this.project.db;
    const row = db.prepare<unknown[], { params_json: string; checkpoint_json: string | null }>(
        'SELECT params_json, checkpoint_json FROM job WHERE id = ?').get(jobId)!;
    // Claimed in one statement only while queued (another process may have cancelled it) and only while
    // this runner still holds the lease (a job claimed after a takeover would stay 'running' nowhere).
    const claimed = db.prepare(`UPDATE job SET status = 'running', started_at = coalesce(started_at, ${NOW}), updated_at = ${NOW}
      WHERE id = ? AND status = 'queued' AND EXISTS (SELECT 1 FROM runner_lease WHERE id = 1 AND holder = ?)`)
      .run(jobId, this.lease.id).changes > 0;
    if (!claimed) return this.lease.holder()?.holder === this.lease.id ? 'not queued' : 'lease lost';
    this.emit(jobId);
    const controller = new AbortController();
    const startedAt = Date.now();
    let lastWrite = 0;
    const startFraction = (db.prepare<unknown[], { progress: number }>('SELECT progress FROM job WHERE id = ?').get(jobId)!).progress;

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
          WHERE id = ? AND status = 'running'`).run(f, message === undefined ? null : redactSecrets(message), eta, jobId);
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
        if (!controller.signal.aborted) this.recordFailure(jobId, err);
      } finally {
        this.running.delete(jobId);
        this.busyLanes.delete(kind.lane);
        if (db.open) this.guarded(() => this.emit(jobId));
        if (db.open) this.guarded(() => this.pump());
      }
    })();
    this.running.set(jobId, { controller, promise });
    return 'started';
  }
}

/** What a `job.progress` report of a row says; two equal signatures need not be reported twice. */
function signature(job: Job): string {
  return `${job.updatedAt}|${job.status}|${job.progress}|${job.message ?? ''}`;
}
