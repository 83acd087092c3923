import type Database from 'better-sqlite3';
import type { EventBus } from '../app/event-bus';
import { commitEdit, type Change } from './edit-log';
import type { ChangedEntity, Touched } from './mutation-types';
import { withWriteRetry } from './write-retry';

export type { ChangedEntity, Touched } from './mutation-types';

/**
 * The one write path. Every write to a project database runs as `mutate(target, (m) => …)`:
 *  - the callback runs in one transaction (nested calls join the outer one);
 *  - an undoable edit goes through `m.edit(filmId, label, changes)`, which records it in the edit log;
 *  - the callback names what it touched with `m.touch(filmId, entities)` (services do this, so a
 *    handler cannot forget), and after the commit one `data.changed` per film is emitted — none when the
 *    transaction failed or no event bus is attached (CLI commands, tests of services).
 * Services take the bare database and call `mutate(db, …)` themselves; when a handler runs them inside
 * its own `mutate(ctx, …)`, they join that write (same transaction, its event bus).
 */

/** Where a write goes: the database and, when a UI may be listening, the event bus. */
export interface WriteTarget { db: Database.Database; events?: Pick<EventBus, 'emit'> | null }

export class Mutation {
  private readonly touchedByFilm = new Map<number | null, Map<ChangedEntity['type'], Set<number> | null>>();

  constructor(readonly db: Database.Database) {}

  /** Applies `changes` as one undoable edit of the film; false when they change nothing. */
  edit(filmId: number, label: string, changes: Change[]): boolean {
    return commitEdit(this.db, filmId, label, changes);
  }

  /** Names rows this write changed; an entity with no ids means "reload all of that type". */
  touch(filmId: number | null, ...entities: ChangedEntity[]): void {
    let byType = this.touchedByFilm.get(filmId);
    if (!byType) this.touchedByFilm.set(filmId, (byType = new Map()));
    for (const { type, ids } of entities) {
      const known = byType.get(type);
      if (ids.length === 0 || known === null) byType.set(type, null);
      else byType.set(type, new Set([...(known ?? []), ...ids]));
    }
  }

  /** What was touched, one entry per film, types in the order first touched. */
  touched(): Touched[] {
    return [...this.touchedByFilm].map(([filmId, byType]) => ({
      filmId,
      entities: [...byType].map(([type, ids]) => ({ type, ids: ids ? [...ids] : [] })),
    }));
  }
}

/** The mutation of the write running now on each database, so nested writes join it. */
const running = new WeakMap<Database.Database, Mutation>();
/** Asynchronous writes in progress per database: they collect what writes without a bus of their own touch. */
const collecting = new WeakMap<Database.Database, Set<Mutation>>();

/**
 * Runs `write` in a transaction and, after it committed, emits `data.changed` for what it touched.
 * Also accepts a bare database (a service called by a CLI command or a test): then nothing is emitted.
 * The outermost write takes the write lock when it begins (BEGIN IMMEDIATE), so a write that reads first
 * waits for another process's writer instead of failing on a stale snapshot; when the lock stays taken
 * past the busy timeout it is tried again within a budget (`withWriteRetry`), then refused as `db_busy`.
 */
export function mutate<T>(target: WriteTarget | Database.Database, write: (m: Mutation) => T): T {
  const { db, events } = 'prepare' in target ? { db: target, events: null } : target;
  const outer = running.get(db);
  if (outer) return db.transaction(() => write(outer))();
  const { value, m } = withWriteRetry(db, () => {
    const m = new Mutation(db);
    running.set(db, m);
    try {
      return { value: db.transaction(() => write(m)).immediate(), m };
    } finally {
      running.delete(db);
    }
  });
  for (const t of m.touched()) {
    if (events) events.emit('data.changed', t);
    else for (const c of collecting.get(db) ?? []) c.touch(t.filmId, ...t.entities);
  }
  return value;
}

/**
 * For asynchronous writes (an image import awaiting sharp between its row inserts, a job step): each
 * row write is its own `mutate`, and this announces what the whole operation touched once it finished:
 * what it names on `m`, and what services it calls with the bare database touch meanwhile. (Another
 * write on the same database in that time is announced again with it: a spare reload, never a lost one.)
 * Nothing is announced when it throws.
 */
export async function mutateAsync<T>(target: WriteTarget, write: (m: Mutation) => Promise<T>): Promise<T> {
  const m = new Mutation(target.db);
  let set = collecting.get(target.db);
  if (!set) collecting.set(target.db, (set = new Set()));
  set.add(m);
  let value: T;
  try {
    value = await write(m);
  } finally {
    set.delete(m);
  }
  for (const t of m.touched()) target.events?.emit('data.changed', t);
  return value;
}
