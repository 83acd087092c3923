import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/main/db/connection';
import { migrations } from '../../src/main/db/migrations/index';
import { createProject, openProject } from '../../src/main/project/project';
import { useTempDir } from '../support/tmp';

describe('project database migrations', () => {
  const tmp = useTempDir();

  it('creates a fresh database with every migration recorded, in WAL mode with foreign keys', () => {
    const db = openDatabase(join(tmp(), 'p.sqlite'), { create: true });
    const applied = db.prepare('SELECT id, name FROM schema_migration ORDER BY id').all() as { id: number }[];
    expect(applied.map((r) => r.id)).toEqual(migrations.map((m) => m.id));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    for (const t of ['film', 'character', 'chapter', 'subchapter', 'frame', 'dialogue_line', 'qa_pair', 'style', 'style_image',
      'embedding', 'render', 'job', 'edit_log', 'asset']) expect(tables).toContain(t);
    db.close();
  });

  it('upgrades a database made with the previous schema and keeps its rows', () => {
    const file = join(tmp(), 'old.sqlite');
    const previous = migrations.slice(0, -1);
    const old = openDatabase(file, { create: true, migrations: previous });
    old.prepare("INSERT INTO film (title) VALUES ('Kept')").run();
    const before = old.prepare('SELECT max(id) AS v FROM schema_migration').get() as { v: number };
    expect(before.v).toBe(previous[previous.length - 1].id);
    old.close();

    const db = openDatabase(file);
    const after = db.prepare('SELECT max(id) AS v FROM schema_migration').get() as { v: number };
    expect(after.v).toBe(migrations[migrations.length - 1].id);
    expect((db.prepare('SELECT title FROM film').get() as { title: string }).title).toBe('Kept');
    db.close();
  });

  it('refuses a database written by a newer version, naming the file, and leaves it untouched', () => {
    const file = join(tmp(), 'newer.sqlite');
    openDatabase(file, { create: true }).close();
    const raw = new Database(file);
    raw.prepare("INSERT INTO schema_migration (id, name, checksum) VALUES (999, 'from-the-future', 'x')").run();
    raw.close();
    expect(() => openDatabase(file)).toThrowError(/newer DreamFrame Studio.*999/);
    try {
      openDatabase(file);
    } catch (err) {
      expect((err as { code: string }).code).toBe('db_newer_version');
      expect((err as Error).message).toContain(file);
    }
  });

  it('refuses a database whose applied migration differs from this build', () => {
    const file = join(tmp(), 'changed.sqlite');
    openDatabase(file, { create: true }).close();
    const raw = new Database(file);
    raw.prepare("UPDATE schema_migration SET checksum = 'tampered' WHERE id = 1").run();
    raw.close();
    expect(() => openDatabase(file)).toThrowError(/migration 1 .*does not match/);
  });

  it('applies each migration atomically: a failing migration leaves no trace', () => {
    const file = join(tmp(), 'atomic.sqlite');
    const broken = [...migrations, { id: 900, name: 'broken', sql: 'CREATE TABLE half_done (x); SELECT * FROM no_such_table;' }];
    expect(() => openDatabase(file, { create: true, migrations: broken })).toThrow(/no_such_table/);
    const db = new Database(file);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'half_done'").get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM schema_migration WHERE id = 900').get()).toEqual({ n: 0 });
    db.close();
  });

  it('refuses a SQLite file that is not a project', () => {
    const file = join(tmp(), 'other.sqlite');
    const raw = new Database(file);
    raw.exec('CREATE TABLE t (x)');
    raw.close();
    expect(() => openDatabase(file)).toThrowError(/not a DreamFrame Studio project/);
  });

  it('backs up with VACUUM INTO to a database that opens as a project', () => {
    const dir = tmp();
    const project = createProject(join(dir, 'proj'));
    project.db.prepare("INSERT INTO film (title) VALUES ('Backed up')").run();
    const { path, bytes } = project.backup(join(dir, 'backup.sqlite'));
    expect(bytes).toBeGreaterThan(0);
    expect(() => project.backup(path)).toThrowError(/already exists/);
    project.close();
    const copy = openDatabase(path);
    expect((copy.prepare('SELECT title FROM film').get() as { title: string }).title).toBe('Backed up');
    copy.close();
  });

  it('opens only real project folders and refuses to create over a non-empty folder', () => {
    const dir = tmp();
    expect(() => openProject(join(dir, 'nothing'))).toThrowError(/not a DreamFrame project/);
    createProject(join(dir, 'a')).close();
    expect(() => createProject(join(dir, 'a'))).toThrowError(/already exists/);
  });
});
