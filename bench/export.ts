/**
 * Export measurements (printed, never asserted):
 * - time to export the JSON of 1,000 generated films (sample film copies, everything approved) in
 *   each format, without clips, plus the share spent selecting the films from the database;
 * - clips encoded per second (and keyframes per second) for the sample film at two clip sizes, and
 *   the time of an unchanged re-export where every clip is reused.
 * BENCH_FILMS overrides the film count.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProjectWithSample } from '../src/main/app/context';
import { runExport, selectFilms } from '../src/main/export/exporter';
import { insertFilmDocument } from '../src/main/story/film-writer';
import { resourcesDir } from '../src/main/util/resources';
import { FilmDocument } from '../src/shared/film-document';

const FILMS = Number(process.env.BENCH_FILMS ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'dreamframe-bench-export-'));
const ms = (t: number) => performance.now() - t;
const fmt = (n: number) => n.toFixed(n < 10 ? 2 : 0);

try {
  // ---- 1,000 films of JSON
  const big = createProjectWithSample(join(dir, 'big'), false);
  const doc = FilmDocument.parse(JSON.parse(readFileSync(join(resourcesDir(), 'sample', 'film.json'), 'utf8')));
  let t = performance.now();
  big.db.transaction(() => {
    for (let i = 0; i < FILMS; i++) insertFilmDocument(big.db, { ...doc, title: `${doc.title} #${i + 1}` }, { source: 'sample', structure: 'hierarchical' });
  })();
  for (const table of ['frame', 'dialogue_line', 'qa_pair']) big.db.prepare(`UPDATE ${table} SET review_state = 'approved'`).run();
  console.log(`generated ${FILMS} films in ${fmt(ms(t))} ms`);

  t = performance.now();
  const films = selectFilms(big, [], false);
  const selectMs = ms(t);
  const frames = films.reduce((n, f) => n + f.chapters.reduce((m, c) => m + c.subchapters.reduce((k, x) => k + x.frames.length, 0), 0), 0);
  console.log(`select ${films.length} films (${frames} frames) with the review filter: ${fmt(selectMs)} ms`);
  for (const format of ['jsonl', 'story-js', 'llama-vid', 'video-chatgpt'] as const) {
    t = performance.now();
    const r = await runExport(big, { format, outDir: join(dir, `out-${format}`), clips: false });
    const first = ms(t);
    t = performance.now();
    await runExport(big, { format, outDir: join(dir, `out-${format}`), clips: false });
    const again = ms(t);
    const bytes = r.manifest.files.reduce((n, f) => n + f.bytes, 0);
    console.log(`${format.padEnd(13)} ${FILMS} films: ${fmt(first)} ms first, ${fmt(again)} ms unchanged re-run `
      + `(${r.manifest.files.length} files, ${(bytes / 1e6).toFixed(1)} MB; selection ≈ ${((selectMs / first) * 100).toFixed(0)}% of the first run)`);
  }
  big.close();

  // ---- clips per second
  const p = createProjectWithSample(join(dir, 'clips'), true);
  for (const table of ['frame', 'dialogue_line', 'qa_pair']) p.db.prepare(`UPDATE ${table} SET review_state = 'approved'`).run();
  // warm the placeholder-card cache so the timing is the encoder's
  await runExport(p, { format: 'llama-vid', outDir: join(dir, 'warm'), maxSize: 32 });
  for (const maxSize of [256, 1024]) {
    const out = join(dir, `clips-${maxSize}`);
    t = performance.now();
    const r = await runExport(p, { format: 'llama-vid', outDir: out, maxSize });
    const first = ms(t);
    t = performance.now();
    const again = await runExport(p, { format: 'llama-vid', outDir: out, maxSize });
    const reuse = ms(t);
    const f = r.manifest.films[0];
    console.log(`clips at ${f.clipWidth}×${f.clipHeight}: ${r.clips.encoded} clips (${r.manifest.counts.keyframesInClips} keyframes incl. joined) in `
      + `${fmt(first)} ms = ${fmt(r.clips.encoded / (first / 1000))} clips/s, ${fmt(24 / (first / 1000))} source keyframes/s; `
      + `unchanged re-run ${fmt(reuse)} ms (${again.clips.reused} reused, ${fmt(first / reuse)}× faster)`);
  }
  p.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
