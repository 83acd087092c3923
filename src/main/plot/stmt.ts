import type Database from 'better-sqlite3';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * Prepared statements reused per connection (the plot job runs the same few hundreds of times).
 * `Row` types what the statement's rows look like, as `db.prepare<unknown[], Row>` would.
 */
export function stmt<Row = unknown>(db: Database.Database, sql: string): Database.Statement<unknown[], Row> {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare(sql)));
  // The cache holds statements of every row shape; the caller's SQL decides this one's.
  return s as Database.Statement<unknown[], Row>;
}
