import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layer rules of docs/ARCHITECTURE.md that a text scan can hold: SQL lives in repository modules
 * (so API handlers, CLI commands and services hold none), and `data.changed` is emitted only by the one
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

/** `db.prepare(…)`, `db.exec(…)`, `db.transaction(…)` or the plot area's cached `stmt(db, …)`. */
const SQL = /\b(?:db|database)\s*\.\s*(?:prepare|exec|transaction)\s*[<(]|\bstmt\s*(?:<[^>]*>)?\(\s*db\b/;

/** Repository modules by name: an area's `repo.ts`, `*-repo.ts`, `*-store.ts`, and the database layer itself. */
const REPOSITORY = /\/repo\.ts$|-repo\.ts$|-store\.ts$|^src\/main\/db\//;

/**
 * Modules that hold SQL without a repository's name, each with why. Shrink this list; never grow it
 * without a reason a reviewer accepts.
 */
const SQL_ALLOWED: Record<string, string> = {
  // The write path and the job table's own machinery.
  'src/main/jobs/runner.ts': "the job runner claims and finishes rows of its own job table in its transactions",
  'src/main/jobs/lease.ts': "the runner lease is one row the lease object owns (acquire, heartbeat, release)",
  'src/main/jobs/foreground.ts': "polls the status of the one job it waits for",
  'src/main/import/story-js.ts': "the whole import is one BEGIN IMMEDIATE transaction around the film writer",
  // The story area's repository, named by what it reads and writes (not yet renamed to story/repo.ts).
  'src/main/story/film-reader.ts': "the story area's read repository (films, outline, frames, lines, QA)",
  'src/main/story/film-writer.ts': "the story area's write repository (a whole film's rows)",
  'src/main/story/item-label.ts': "reads the storyboard numbering of an item for undo labels",
  'src/main/story/review-cascade.ts': "reads a subchapter's frames, lines and QA to expand an approval",
  'src/main/story/review-return.ts': "reads which frames are approved before returning them to review",
  // Plot: its statements are cached per connection (stmt.ts) for the plot job's hot loop.
  'src/main/plot/stmt.ts': "the per-connection statement cache itself",
  'src/main/plot/prompt-context.ts': "reads the outline a plot prompt is built from",
  'src/main/plot/settings.ts': "the plot_setting key-value rows",
  'src/main/plot/templates.ts': "the plot_template rows",
  // Render reads not yet moved to render-repo.ts.
  'src/main/render/settings.ts': "the render_settings row of a film",
};

describe('layers', () => {
  it('API handlers and CLI commands hold no SQL', () => {
    const front = main.filter((f) => /\/api-handlers\.ts$|^src\/main\/api\/|^src\/main\/cli\//.test(f.path));
    expect(front.length).toBeGreaterThan(10);
    expect(front.filter((f) => SQL.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  it('SQL lives only in repository modules (and the listed exceptions)', () => {
    const holders = main.filter((f) => SQL.test(f.text)).map((f) => f.path);
    expect(holders.length).toBeGreaterThan(10);
    expect(holders.filter((p) => !REPOSITORY.test(p) && !(p in SQL_ALLOWED))).toEqual([]);
    // An exception that no longer holds SQL leaves the list, so the list only shrinks.
    expect(Object.keys(SQL_ALLOWED).filter((p) => !holders.includes(p))).toEqual([]);
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
    expect(SQL.test('db.exec(`CREATE TABLE t (x)`)')).toBe(true);
    expect(SQL.test('mutate(ctx.writer(), ({ db }) => editItem(db, edit))')).toBe(false);
    expect(SQL.test('const m = /^frame\\/(\\d+)$/.exec(key);')).toBe(false);
    expect(['src/main/curation/repo.ts', 'src/main/render/render-repo.ts', 'src/main/jobs/job-store.ts', 'src/main/db/edit-log.ts']
      .every((p) => REPOSITORY.test(p))).toBe(true);
    expect(REPOSITORY.test('src/main/curation/search.ts')).toBe(false);
  });
});
