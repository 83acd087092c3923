import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layer rules of docs/ARCHITECTURE.md that a text scan can hold: API handlers and CLI commands
 * hold no SQL (they call services and repositories), and `data.changed` is emitted only by the one
 * write path (db/mutation.ts) and the two notifications that are not writes.
 */

const root = join(__dirname, '../..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const main = files(join(root, 'src/main')).map((f) => ({ path: relative(root, f).split('\\').join('/'), text: readFileSync(f, 'utf8') }));

/** `db.prepare(…)`, `db.transaction(…)` or the plot area's cached `stmt(db, …)`. */
const SQL = /\b(?:db|database)\s*\.\s*(?:prepare|transaction)\s*[<(]|\bstmt\s*(?:<[^>]*>)?\(\s*db\b/;

describe('layers', () => {
  it('API handlers and CLI commands hold no SQL', () => {
    const front = main.filter((f) => /\/api-handlers\.ts$|^src\/main\/api\/|^src\/main\/cli\//.test(f.path));
    expect(front.length).toBeGreaterThan(10);
    expect(front.filter((f) => SQL.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  it('data.changed is emitted only by the write path (and by project open and the job-table watch)', () => {
    const allowed = ['src/main/db/mutation.ts', 'src/main/app/context.ts', 'src/main/jobs/runner.ts'];
    const emitters = main.filter((f) => /emit\(\s*'data\.changed'/.test(f.text)).map((f) => f.path);
    expect(emitters.filter((p) => !allowed.includes(p))).toEqual([]);
    expect(emitters).toContain('src/main/db/mutation.ts');
  });

  it('the scan sees SQL where there is some', () => {
    expect(SQL.test("const r = project.db.prepare('SELECT 1').get();")).toBe(true);
    expect(SQL.test('return stmt<Row>(db, `SELECT 1`)')).toBe(true);
    expect(SQL.test('mutate(ctx.writer(), ({ db }) => editItem(db, edit))')).toBe(false);
  });
});
