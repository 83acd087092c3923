import type Database from 'better-sqlite3';
import { describeHolder } from './lease';
import type { JobRunner } from './runner';

/**
 * What a CLI command needs to run its jobs in the foreground when the project may be open in
 * another process (the app, `dreamframe serve`, another command): the jobs run wherever the
 * runner lease is, so the command waits for their rows, and Ctrl+C reaches them either way.
 */

const FINISHED = new Set(['done', 'failed', 'cancelled']);

/**
 * Resolves when every job's row is done, failed or cancelled (or gone), checking every `pollMs`,
 * or when `signal` aborts. Its timer keeps the process alive meanwhile, whoever runs the jobs.
 * `endedHere` tells of jobs that ended without their row saying so (a failure a full disk kept out of it).
 */
export function waitForJobs(db: Database.Database, jobIds: readonly number[],
  opts: { signal?: AbortSignal; pollMs?: number; endedHere?: (jobId: number) => boolean } = {}): Promise<void> {
  const status = db.prepare<unknown[], { status: string }>('SELECT status FROM job WHERE id = ?');
  const finished = () => jobIds.every((id) => {
    if (opts.endedHere?.(id)) return true;
    const row = status.get(id);
    return !row || FINISHED.has(row.status);
  });
  return new Promise((resolve) => {
    if (opts.signal?.aborted || finished()) return resolve();
    const timer = setInterval(() => {
      if (!db.open || finished()) end();
    }, opts.pollMs ?? 250);
    const end = () => {
      clearInterval(timer);
      opts.signal?.removeEventListener('abort', end);
      resolve();
    };
    opts.signal?.addEventListener('abort', end, { once: true });
  });
}

/**
 * Ctrl+C for a command's jobs, with the same meaning wherever they run. Running here (this runner
 * holds the lease), they stop after the current step and stay 'running', so the same command (or
 * `--resume`) continues them. Running in another process, only the row reaches them: they are
 * cancelled, that process stops them after the current step, and resuming continues from the
 * checkpoint like any cancelled job.
 */
export async function interruptJobs(runner: JobRunner, jobIds: readonly number[]): Promise<void> {
  if (!runner.holdsLease) for (const id of jobIds) runner.cancel(id);
  await runner.stop();
}

/** A foreground command's Ctrl+C: whether it came, and the signal that ends its wait. */
export interface ForegroundInterrupt {
  readonly interrupted: boolean;
  /** Aborts once the interrupted jobs have stopped (or been cancelled); pass it to waitForJobs. */
  readonly signal: AbortSignal;
  /** Stops listening for SIGINT/SIGTERM; call it in the command's `finally`. */
  dispose(): void;
}

/**
 * Listens once for SIGINT/SIGTERM and then interrupts the command's jobs (see interruptJobs). `jobIds` is
 * read when the signal comes, since a command learns its job ids only after it starts listening.
 */
export function interruptOnSignal(runner: JobRunner, jobIds: () => readonly number[]): ForegroundInterrupt {
  let interrupted = false;
  const waiting = new AbortController();
  const stop = () => {
    interrupted = true;
    void interruptJobs(runner, jobIds()).finally(() => waiting.abort());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    get interrupted() { return interrupted; },
    signal: waiting.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/**
 * The one line a command prints when another process holds the lease (so runs its jobs); null when
 * this one does. `resumeHint` says how the command continues a job Ctrl+C cancelled.
 */
export function waitingNotice(runner: JobRunner, projectDir: string, jobIds: readonly number[], resumeHint: string): string | null {
  if (runner.holdsLease) return null;
  const holder = runner.leaseHolder();
  if (!holder) return null;
  const jobs = jobIds.length === 1 ? `job ${jobIds[0]} was` : `jobs ${jobIds.join(', ')} were`;
  return `project ${projectDir} is open in ${describeHolder(holder)}; ${jobs} queued there — waiting for it `
    + `(Ctrl+C cancels; ${resumeHint})`;
}
