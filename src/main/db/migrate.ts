import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { AppError } from '../../shared/errors';
import { migrations as defaultMigrations, type Migration } from './migrations/index';

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(`${m.id}\n${m.name}\n${m.sql}`).digest('hex');
}

interface AppliedRow {
  id: number;
  name: string;
  checksum: string;
}

/**
 * Brings a database up to the newest schema this build knows. Refuses (and changes nothing) when
 * the database was written by a newer build or when an applied migration's text differs from ours.
 * Each pending migration runs in its own transaction together with its bookkeeping row.
 */
export function migrate(db: Database.Database, file: string, list: readonly Migration[] = defaultMigrations): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migration (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`);
  const applied = db.prepare<unknown[], AppliedRow>('SELECT id, name, checksum FROM schema_migration ORDER BY id').all();
  const known = new Map(list.map((m) => [m.id, m]));
  const newest = list.reduce((max, m) => Math.max(max, m.id), 0);

  for (const row of applied) {
    const mine = known.get(row.id);
    if (!mine) {
      throw new AppError(
        'db_newer_version',
        `${file} was written by a newer DreamFrame Studio (schema migration ${row.id} "${row.name}"; this build knows up to ${newest}). Update the app to open it.`,
        { file, migration: row.id, newestKnown: newest },
      );
    }
    if (migrationChecksum(mine) !== row.checksum) {
      throw new AppError(
        'db_migration_changed',
        `${file}: applied schema migration ${row.id} "${row.name}" does not match this build's migration of the same number (checksum differs). The database was made by a different build; refusing to open it.`,
        { file, migration: row.id },
      );
    }
  }

  const done = new Set(applied.map((r) => r.id));
  const record = db.prepare('INSERT INTO schema_migration (id, name, checksum) VALUES (?, ?, ?)');
  for (const m of [...list].sort((a, b) => a.id - b.id)) {
    if (done.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.id, m.name, migrationChecksum(m));
    })();
  }
  return newest;
}

export function schemaVersion(db: Database.Database): number {
  const row = db.prepare<unknown[], { v: number | null }>('SELECT MAX(id) AS v FROM schema_migration').get()!;
  return row.v ?? 0;
}
