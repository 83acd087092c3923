import type Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
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
      this.db.pragma('optimize');
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
  return new Project(root, openDatabase(join(root, DB_FILE)));
}
