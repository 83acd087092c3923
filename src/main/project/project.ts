import type Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { backupDatabase, openDatabase } from '../db/connection';
import { schemaVersion } from '../db/migrate';

export const DB_FILE = 'project.sqlite';
export const ASSETS_DIR = 'assets';

/** An open project folder: `project.sqlite` plus `assets/` (content-addressed files). */
export class Project {
  readonly dir: string;
  readonly db: Database.Database;

  constructor(dir: string, db: Database.Database) {
    this.dir = dir;
    this.db = db;
  }

  get name(): string {
    return basename(this.dir);
  }

  get dbFile(): string {
    return join(this.dir, DB_FILE);
  }

  get assetsDir(): string {
    return join(this.dir, ASSETS_DIR);
  }

  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  /** Online, consistent copy of the database (`VACUUM INTO`). */
  backup(dest: string): { path: string; bytes: number } {
    const target = resolve(dest);
    backupDatabase(this.db, target);
    return { path: target, bytes: statSync(target).size };
  }

  close(): void {
    if (this.db.open) {
      try {
        this.db.pragma('optimize');
      } catch {
        // Optional upkeep; on a full or read-only disk closing must still succeed.
      }
      this.db.close();
    }
  }
}

/** Creates a new project in an empty (or missing) folder. */
export function createProject(dir: string): Project {
  const root = resolve(dir);
  if (existsSync(join(root, DB_FILE))) {
    throw new AppError('project_exists', `A project already exists in ${root}`, { dir: root });
  }
  if (existsSync(root) && !statSync(root).isDirectory()) {
    throw new AppError('project_not_a_folder', `${root} exists and is not a folder`, { dir: root });
  }
  if (existsSync(root) && readdirSync(root).some((f) => !f.startsWith('.'))) {
    throw new AppError('project_folder_not_empty', `${root} is not empty; choose an empty or new folder`, { dir: root });
  }
  mkdirSync(join(root, ASSETS_DIR), { recursive: true });
  return new Project(root, openDatabase(join(root, DB_FILE), { create: true }));
}

/** Opens an existing project folder, migrating its database if this build is newer. */
export function openProject(dir: string): Project {
  const root = resolve(dir);
  if (!existsSync(join(root, DB_FILE))) {
    throw new AppError('project_missing', `${root} is not a DreamFrame project (no ${DB_FILE})`, { dir: root });
  }
  mkdirSync(join(root, ASSETS_DIR), { recursive: true });
  const project = new Project(root, openDatabase(join(root, DB_FILE)));
  removeStaleTempFiles(project.assetsDir);
  return project;
}

/** The temporary sibling `writeFileAtomic` writes before its rename: `.<name>.<12 hex>.tmp`. */
const ATOMIC_TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/;

/**
 * A write older than this is not in progress: atomic writes of assets take milliseconds, so a temp file
 * this old was left by a process that died (kill -9 while rendering). Younger ones may belong to another
 * process writing into the same project right now.
 */
export const STALE_TEMP_MS = 10 * 60_000;

/** Removes atomic-write temp files that crashed writes left under `assets/`; returns how many. */
export function removeStaleTempFiles(assetsDir: string, now = Date.now()): number {
  let removed = 0;
  let entries;
  try {
    entries = readdirSync(assetsDir, { recursive: true, withFileTypes: true });
  } catch {
    return 0; // an unreadable assets folder is reported by whatever reads it next
  }
  for (const e of entries) {
    if (!e.isFile() || !ATOMIC_TEMP.test(e.name)) continue;
    const file = join(e.parentPath, e.name);
    try {
      if (now - statSync(file).mtimeMs < STALE_TEMP_MS) continue;
      rmSync(file);
      removed++;
    } catch {
      // Gone already or not ours to remove: opening the project matters more.
    }
  }
  return removed;
}
