import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/app/event-bus';
import { mutate, mutateAsync } from '../../src/main/db/mutation';

/** The one write path: a transaction, then one data.changed per film for what the write touched. */

function setup() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  const events = new EventBus();
  const seen: unknown[] = [];
  events.onAny((name, payload) => seen.push([name, payload]));
  return { db, events, seen, count: () => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n };
}

describe('mutate', () => {
  it('commits, then emits one event per film with the touched ids merged in first-touch order', () => {
    const { db, events, seen, count } = setup();
    const value = mutate({ db, events }, (m) => {
      db.prepare("INSERT INTO t (v) VALUES ('a'), ('b')").run();
      m.touch(1, { type: 'frame', ids: [3] }, { type: 'dialogue', ids: [9] });
      m.touch(2, { type: 'film', ids: [2] });
      m.touch(1, { type: 'frame', ids: [4, 3] });
      expect(seen).toEqual([]);
      return 'done';
    });
    expect(value).toBe('done');
    expect(count()).toBe(2);
    expect(seen).toEqual([
      ['data.changed', { filmId: 1, entities: [{ type: 'frame', ids: [3, 4] }, { type: 'dialogue', ids: [9] }] }],
      ['data.changed', { filmId: 2, entities: [{ type: 'film', ids: [2] }] }],
    ]);
  });

  it('rolls back and emits nothing when the write throws', () => {
    const { db, events, seen, count } = setup();
    expect(() => mutate({ db, events }, (m) => {
      db.prepare("INSERT INTO t (v) VALUES ('a')").run();
      m.touch(1, { type: 'frame', ids: [1] });
      throw new Error('boom');
    })).toThrow('boom');
    expect(count()).toBe(0);
    expect(seen).toEqual([]);
  });

  it('lets a service called with the bare database join the caller\'s write and its event bus', () => {
    const { db, events, seen, count } = setup();
    const service = (d: Database.Database) => mutate(d, (m) => {
      d.prepare("INSERT INTO t (v) VALUES ('x')").run();
      m.touch(7, { type: 'qa', ids: [1] });
    });
    service(db);
    expect(seen).toEqual([]);
    mutate({ db, events }, () => service(db));
    expect(count()).toBe(2);
    expect(seen).toEqual([['data.changed', { filmId: 7, entities: [{ type: 'qa', ids: [1] }] }]]);
  });

  it('treats a touch without ids as "reload all of that type"', () => {
    const { db, events, seen } = setup();
    mutate({ db, events }, (m) => {
      m.touch(1, { type: 'style', ids: [5] });
      m.touch(1, { type: 'style', ids: [] });
      m.touch(1, { type: 'style', ids: [6] });
    });
    expect(seen).toEqual([['data.changed', { filmId: 1, entities: [{ type: 'style', ids: [] }] }]]);
  });

  it('announces an asynchronous write once it finished, with what the services it called touched', async () => {
    const { db, events, seen, count } = setup();
    const service = (d: Database.Database, id: number) => mutate(d, (m) => {
      d.prepare("INSERT INTO t (v) VALUES ('x')").run();
      m.touch(3, { type: 'style', ids: [id] });
    });
    const done = mutateAsync({ db, events }, async (m) => {
      service(db, 1);
      await new Promise((r) => setTimeout(r, 5));
      service(db, 2);
      m.touch(3, { type: 'film', ids: [3] });
      expect(seen).toEqual([]);
      return 'ok';
    });
    expect(await done).toBe('ok');
    expect(count()).toBe(2);
    expect(seen).toEqual([['data.changed', { filmId: 3, entities: [{ type: 'style', ids: [1, 2] }, { type: 'film', ids: [3] }] }]]);
    service(db, 4);
    expect(seen).toHaveLength(1);
  });

  it('announces nothing when an asynchronous write fails', async () => {
    const { db, events, seen } = setup();
    await expect(mutateAsync({ db, events }, async (m) => {
      m.touch(1, { type: 'frame', ids: [1] });
      throw new Error('late failure');
    })).rejects.toThrow('late failure');
    expect(seen).toEqual([]);
  });
});
