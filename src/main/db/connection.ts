import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { AppError } from '../../shared/errors';
import { migrate } from './migrate';
import type { Migration } from './migrations/index';
import { migrations } from './migrations/index';

/** Identifies our files among other SQLite databases ("DFRM"). */
export const APPLICATION_ID = 0x4446524d;

export interface OpenOptions {
  create?: boolean;
  /** Tests pass a shorter list to build an older schema. */
  migrations?: readonly Migration[];
}

/**
 * Opens a project database: WAL, foreign keys, full fsync (curators' edits must survive a power
 * cut), then migrations. A file that is not a DreamFrame database is refused by name.
 */
export function openDatabase(file: string, opts: OpenOptions = {}): Database.Database {
  if (!opts.create && !existsSync(file)) {
    throw new AppError('db_missing', `No project database at ${file}`, { file });
  }
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: !opts.create });
  } catch (err) {
    throw new AppError('db_open_failed', `Cannot open ${file}: ${(err as Error).message}`, { file });
  }
  try {
    db.pragma('busy_timeout = 5000');
    const appId = db.pragma('application_id', { simple: true }) as number;
    const tables = (db.prepare<unknown[], { n: number }>("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get()!).n;
    if (appId !== APPLICATION_ID && tables > 0) {
      throw new AppError('db_not_a_project', `${file} is a SQLite database but not a DreamFrame Studio project`, { file });
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('temp_store = MEMORY');
    if (appId !== APPLICATION_ID) db.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(db, file, opts.migrations ?? migrations);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof AppError) throw err;
    throw new AppError('db_open_failed', `Cannot open ${file}: ${(err as Error).message}`, { file });
  }
}

/** Consistent online copy of the database through `VACUUM INTO` (compacted, WAL folded in). */
export function backupDatabase(db: Database.Database, dest: string): void {
  if (existsSync(dest)) throw new AppError('backup_exists', `Backup target already exists: ${dest}`, { dest });
  db.prepare('VACUUM INTO ?').run(dest);
}
