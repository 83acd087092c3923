/**
 * How long the largest single writes hold a project's write lock (printed, never asserted), against the
 * 5 s busy timeout another process waits before its write is retried (src/main/db/write-retry.ts):
 * - importing the release film (story_info_0.json: 1,331 frames, one transaction);
 * - approving every frame, dialogue line and QA pair of that film in one review edit;
 * - deleting the film (the schema cascades to every row below it).
 * Each is run three times on a fresh project in a temporary folder; the median is printed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importStoryJsText } from '../src/main/import/story-js';
import { createProject } from '../src/main/project/project';
import { setReview } from '../src/main/story/edits';
import { deleteFilm } from '../src/main/story/film-writer';
import { dreamframeFixtureDir } from '../test/support/paths';

const BUSY_TIMEOUT_MS = 5000;
const story = join(dreamframeFixtureDir, 'story_info_0.json');
const text = readFileSync(story, 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'dreamframe-bench-write-lock-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const times = { import: [] as number[], review: [] as number[], delete: [] as number[] };
for (let run = 0; run < 3; run++) {
  const project = createProject(join(dir, `p${run}`));
  let t = performance.now();
  const { filmId } = importStoryJsText(project, text, story, { asNew: true });
  times.import.push(performance.now() - t);
  const ids = (table: string, join: string) => project.db.prepare<[number], { id: number }>(
    `SELECT x.id FROM ${table} x ${join} WHERE c.film_id = ?`).all(filmId).map((r) => r.id);
  const under = 'JOIN subchapter s ON s.id = x.subchapter_id JOIN chapter c ON c.id = s.chapter_id';
  const items = [
    ...ids('frame', under).map((id) => ({ type: 'frame' as const, id })),
    ...ids('dialogue_line', under).map((id) => ({ type: 'dialogue' as const, id })),
    ...project.db.prepare<[number], { id: number }>('SELECT id FROM qa_pair WHERE film_id = ?').all(filmId).map((r) => ({ type: 'qa' as const, id: r.id })),
  ];
  t = performance.now();
  setReview(project.db, items, 'approved', null);
  times.review.push(performance.now() - t);
  t = performance.now();
  deleteFilm(project.db, filmId);
  times.delete.push(performance.now() - t);
  project.close();
}
rmSync(dir, { recursive: true, force: true });

console.log('write lock held by the largest single writes (median of 3), vs the 5 s busy timeout');
for (const [what, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(`  ${what.padEnd(7)} ${m.toFixed(1).padStart(8)} ms   ${(BUSY_TIMEOUT_MS / m).toFixed(0).padStart(6)}× below the timeout`);
}
