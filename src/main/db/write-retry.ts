import type Database from 'better-sqlite3';
import { AppError } from '../../shared/errors';

/**
 * Another process may hold a project's write lock for a while (a CLI import while the app edits, the job
 * runner of another window). SQLite's busy timeout (5 s, connection.ts) waits inside each attempt; a write
 * still refused then is tried again after a short pause until the budget is spent, and only then refused
 * with its own code, `db_busy`, which says what is going on — the UI keeps such an edit and sends it again.
 */

/** Milliseconds a write may keep trying, busy timeouts included (the event loop of this process waits meanwhile). */
let budgetMs = 12_000;

/** For tests and long-running tools: how long a write keeps trying before `db_busy`. */
export function setWriteRetryBudget(ms: number): number {
  const before = budgetMs;
  budgetMs = ms;
  return before;
}

/** SQLITE_BUSY and its extended codes, SQLITE_LOCKED: the lock is someone else's right now. */
export function isBusyError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/** A synchronous pause (better-sqlite3 writes are synchronous; the caller is inside one). */
function pause(ms: number): void {
  Atomics.wait(pauseCell, 0, 0, ms);
}

export function withWriteRetry<T>(db: Database.Database, attempt: () => T): T {
  // Inside someone's open transaction the lock question was settled when it began: no retry of a part of it.
  if (db.inTransaction) return attempt();
  const started = Date.now();
  for (let tries = 1; ; tries++) {
    try {
      return attempt();
    } catch (err) {
      if (!isBusyError(err)) throw withDatabasePath(err, db.name);
      const elapsed = Date.now() - started;
      if (elapsed >= budgetMs) {
        throw new AppError('db_busy',
          `Another process is writing to this project (${db.name}); the change was not saved after waiting ${(elapsed / 1000).toFixed(1)} s — `
            + 'it can be sent again once that process finishes (the app retries by itself)',
          { file: db.name, waitedMs: elapsed, tries });
      }
      pause(Math.min(250 * tries, 1000, budgetMs - elapsed));
    }
  }
}

/**
 * SQLite's errors do not say which file they are about; a full or read-only disk should be named. Adds the
 * database file as the error's `path` (as Node's own errors have), which the error payload then names.
 */
export function withDatabasePath<E>(err: E, file: string): E {
  const e = err as { code?: unknown; path?: unknown } | null;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.code.startsWith('SQLITE_') && e.path === undefined) {
    try {
      e.path = file;
    } catch {
      // a frozen error keeps its message as it is
    }
  }
  return err;
}
