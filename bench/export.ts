/**
 * Export measurements (printed, never asserted):
 * - time to export the JSON of 1,000 generated films (sample film copies, everything approved) in
 *   each format, without clips, plus the share spent selecting the films from the database;
 * - clips encoded per second (and keyframes per second) for the sample film at two clip sizes, and
 *   the time of an unchanged re-export where every clip is reused.
 * - clip export of the release film (story_info_0.json: 1,331 keyframes, 133 clips) with clips encoded
 *   one at a time and in parallel up to os.availableParallelism(), and the ratio; keyframes are
 *   solid-colour PNGs stored through the image store (cheap stand-ins for renders).
 * BENCH_FILMS overrides the film count; BENCH_PARTS=json,clips,release picks the parts (default: all).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import sharp from 'sharp';
import { join } from 'node:path';
import { createProjectWithSample } from '../src/main/app/context';
import { runExport, selectFilms } from '../src/main/export/exporter';
import { importStoryJsFile } from '../src/main/import/story-js';
import { storeImage } from '../src/main/media/image-store';
import { dreamframeFixtureDir } from '../test/support/paths';
import { insertFilmDocument } from '../src/main/story/film-writer';
import { resourcesDir } from '../src/main/util/resources';
import { FilmDocument } from '../src/shared/film-document';

const FILMS = Number(process.env.BENCH_FILMS ?? 1000);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'json,clips,release').split(','));
const dir = mkdtempSync(join(tmpdir(), 'dreamframe-bench-export-'));
const ms = (t: number) => performance.now() - t;
const fmt = (n: number) => n.toFixed(n < 10 ? 2 : 0);

try {
  if (PARTS.has('json')) {
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
  }

  if (PARTS.has('clips')) {
  // ---- clips per second
  const p = createProjectWithSample(join(dir, 'clips'), true);
  for (const table of ['frame', 'dialogue_line', 'qa_pair']) p.db.prepare(`UPDATE ${table} SET review_state = 'approved'`).run();
  // warm the placeholder-card cache so the timing is the encoder's
  await runExport(p, { format: 'llama-vid', outDir: join(dir, 'warm'), maxSize: 32, allowPlaceholders: true });
  for (const maxSize of [256, 1024]) {
    const out = join(dir, `clips-${maxSize}`);
    let t = performance.now();
    const r = await runExport(p, { format: 'llama-vid', outDir: out, maxSize, allowPlaceholders: true });
    const first = ms(t);
    t = performance.now();
    const again = await runExport(p, { format: 'llama-vid', outDir: out, maxSize, allowPlaceholders: true });
    const reuse = ms(t);
    const f = r.manifest.films[0];
    console.log(`clips at ${f.clipWidth}×${f.clipHeight}: ${r.clips.encoded} clips (${r.manifest.counts.keyframesInClips} keyframes incl. joined) in `
      + `${fmt(first)} ms = ${fmt(r.clips.encoded / (first / 1000))} clips/s, ${fmt(24 / (first / 1000))} source keyframes/s; `
      + `unchanged re-run ${fmt(reuse)} ms (${again.clips.reused} reused, ${fmt(first / reuse)}× faster)`);
  }
  p.close();
  }

  if (PARTS.has('release')) {
    // ---- the release film's 133 clips, serial vs parallel encoding
    const rp = createProjectWithSample(join(dir, 'release'), false);
    const { filmId } = importStoryJsFile(rp, join(dreamframeFixtureDir, 'story_info_0.json'));
    for (const table of ['frame', 'dialogue_line', 'qa_pair']) rp.db.prepare(`UPDATE ${table} SET review_state = 'approved'`).run();
    const frameIds = selectFilms(rp, [filmId], false)[0].chapters.flatMap((c) => c.subchapters.flatMap((s) => s.frames.map((f) => f.id)));
    const shas: string[] = [];
    for (let i = 0; i < 16; i++) {
      const png = await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: i * 16, g: 255 - i * 16, b: (i * 53) % 256 } } }).png().toBuffer();
      shas.push((await storeImage(rp, png, 'image/png')).sha256);
    }
    const insert = rp.db.prepare(`INSERT INTO render (frame_id, variant, status, asset_sha256, seed, model, is_keyframe) VALUES (?, 0, 'done', ?, 0, 'bench', 1)`);
    rp.db.transaction(() => frameIds.forEach((id, i) => insert.run(id, shas[i % shas.length])))();
    const cores = availableParallelism();
    const timed = async (name: string, concurrency: number) => {
      const start = performance.now();
      const r = await runExport(rp, { format: 'llama-vid', outDir: join(dir, `release-${name}`) }, { concurrency });
      return { ms: ms(start), r };
    };
    const serial = await timed('serial', 1);
    const parallel = await timed('parallel', cores);
    const same = serial.r.manifest.files.every((f, i) => parallel.r.manifest.files[i]?.sha256 === f.sha256);
    const f = serial.r.manifest.films[0];
    console.log(`release film clips (${serial.r.clips.encoded} clips, ${frameIds.length} keyframes, ${f.clipWidth}×${f.clipHeight}): `
      + `serial ${fmt(serial.ms / 1000)} s, parallel on ${cores} cores ${fmt(parallel.ms / 1000)} s = ${(serial.ms / parallel.ms).toFixed(2)}× `
      + `(files byte-identical: ${same})`);
    rp.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
