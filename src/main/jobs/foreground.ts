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
