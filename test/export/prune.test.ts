import { createHash } from 'node:crypto';
import {
  appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { STATE_FILE } from '../../src/main/export/clips';
import { runExport, type ExportResult } from '../../src/main/export/exporter';
import { importFilmDocumentFile } from '../../src/main/import/film-document';
import type { Project } from '../../src/main/project/project';
import { getStoryboard } from '../../src/main/story/film-reader';
import { resourcesDir } from '../../src/main/util/resources';
import { approveAll, itemIds, review } from './helpers';

/** Every file below `dir` as a "/" path relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? filesUnder(join(dir, e.name), rel) : [rel];
  }).sort();
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The manifest must list exactly the data files and clips on disk, with their current checksums. */
function expectManifestMatchesDisk(out: string, res: ExportResult, others: string[]): void {
  const listed = res.manifest.files.map((f) => f.path);
  const onDisk = filesUnder(out).filter((f) => !f.startsWith('dreamframe-state/') && !f.startsWith('manifest.') && !others.includes(f));
  expect(onDisk).toEqual([...listed].sort());
  for (const f of res.manifest.files) expect(sha256(join(out, ...f.path.split('/')))).toBe(f.sha256);
}

describe('re-export removes what the previous export wrote and no longer produces', () => {
  let dir: string;
  let p: Project;
  let out: string;
  let filmDir: string;
  /** Frames of each subchapter, by "cNN_sMM" stem. */
  const framesOf = new Map<string, number[]>();
  const userFiles = ['notes.txt', 'videos/my-cut.mp4'];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'df-export-prune-'));
    p = createProjectWithSample(join(dir, 'project'), true);
    approveAll(p, 1);
    const board = getStoryboard(p.db, 1);
    board.chapters.forEach((ch, ci) => {
      board.subchapters.filter((s) => s.chapterId === ch.id).forEach((s, si) => {
        const stem = `c${String(ci + 1).padStart(2, '0')}_s${String(si + 1).padStart(2, '0')}`;
        framesOf.set(stem, board.frames.filter((f) => f.subchapterId === s.id).map((f) => f.id));
      });
    });
    out = join(dir, 'out');
    const first = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32 });
    filmDir = `videos/${first.manifest.films[0].dir}`;
    // A curator's own files in the export folder, one of them among our clips.
    writeFileSync(join(out, 'notes.txt'), 'my notes\n');
    writeFileSync(join(out, 'videos', 'my-cut.mp4'), 'not a real clip');
    userFiles.push(`${filmDir}_c01_s02.mine.mp4`);
    writeFileSync(join(out, ...`${filmDir}_c01_s02.mine.mp4`.split('/')), 'also mine');
  }, 120_000);

  afterAll(() => {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a rejected subchapter loses its clip, subtitles and records; other files stay', async () => {
    const clip = `${filmDir}_c01_s02.mp4`;
    const before = filesUnder(out);
    expect(before).toContain(clip);
    const srt = before.includes(`${filmDir}_c01_s02.srt`) ? `${filmDir}_c01_s02.srt` : null;

    review(p, 'frame', framesOf.get('c01_s02')!, 'rejected');
    const res = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32 });

    const after = filesUnder(out);
    expect(after).not.toContain(clip);
    if (srt) expect(after).not.toContain(srt);
    expect(res.pruned.removed).toEqual([clip, ...(srt ? [srt] : [])].sort());
    expect(res.pruned.kept).toEqual([]);
    for (const f of userFiles) expect(after).toContain(f);
    const records = JSON.parse(readFileSync(join(out, 'llama_vid.json'), 'utf8')) as { id: string; video: string }[];
    expect(records.some((r) => r.video === clip || r.id.endsWith('_c01_s02'))).toBe(false);
    expect(res.manifest.files.map((f) => f.path)).not.toContain(clip);
    expectManifestMatchesDisk(out, res, userFiles);
    const state = JSON.parse(readFileSync(join(out, ...STATE_FILE.split('/')), 'utf8')) as { clips: Record<string, unknown> };
    expect(Object.keys(state.clips)).not.toContain(clip);
    expect(Object.keys(state.clips).sort()).toEqual(res.manifest.files.filter((f) => f.path.endsWith('.mp4')).map((f) => f.path).sort());
  }, 120_000);

  it('a JSON-only re-export keeps the clips its records still name', async () => {
    const clipsBefore = filesUnder(out).filter((f) => f.endsWith('.mp4') || f.endsWith('.srt'));
    const res = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32, clips: false });
    expect(res.pruned.removed).toEqual([]);
    expect(filesUnder(out).filter((f) => f.endsWith('.mp4') || f.endsWith('.srt'))).toEqual(clipsBefore);
    // Back to a full export for the next cases.
    await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32 });
  }, 120_000);

  it('keeps a stale clip someone changed since the export, and says so', async () => {
    const clip = `${filmDir}_c02_s01.mp4`;
    appendFileSync(join(out, ...clip.split('/')), 'edited');
    review(p, 'frame', framesOf.get('c02_s01')!, 'rejected');
    const res = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32 });
    expect(res.pruned.kept).toEqual([{ path: clip, reason: 'changed since it was exported' }]);
    expect(existsSync(join(out, ...clip.split('/')))).toBe(true);
    expect(res.manifest.files.map((f) => f.path)).not.toContain(clip);
  }, 120_000);

  it('keeps clips another format in the same folder still lists, until that format is re-exported', async () => {
    const vcg = await runExport(p, { format: 'video-chatgpt', allowPlaceholders: true, outDir: out, maxSize: 32 });
    expect(vcg.clips.encoded).toBe(0);
    const clip = `${filmDir}_c02_s02.mp4`;
    review(p, 'frame', framesOf.get('c02_s02')!, 'rejected');

    const lv = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32 });
    expect(lv.pruned.removed).not.toContain(clip);
    expect(existsSync(join(out, ...clip.split('/')))).toBe(true);

    const vcg2 = await runExport(p, { format: 'video-chatgpt', allowPlaceholders: true, outDir: out, maxSize: 32 });
    expect(vcg2.pruned.removed).toContain(clip);
    expect(existsSync(join(out, ...clip.split('/')))).toBe(false);
    for (const f of userFiles) expect(existsSync(join(out, ...f.split('/')))).toBe(true);
  }, 120_000);

  it('never follows a tampered manifest outside the folder or through a link', async () => {
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'precious\n');
    symlinkSync(outside, join(out, 'link.json'));
    const manifestFile = join(out, 'manifest.llama-vid.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: { path: string; bytes: number; sha256: string }[] };
    const hash = sha256(outside);
    for (const path of ['../outside.txt', 'link.json', `videos/../../outside.txt`, '/'.concat(outside.split(sep).join('/'))]) {
      manifest.files.push({ path, bytes: 9, sha256: hash });
    }
    // Nor does it remove the folder's own bookkeeping when a manifest names it.
    for (const path of ['dreamframe-state/clips.json', 'manifest.video-chatgpt.json']) {
      manifest.files.push({ path, bytes: 0, sha256: sha256(join(out, ...path.split('/'))) });
    }
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const res = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32 });
    expect(res.pruned.removed).toEqual([]);
    expect(readFileSync(outside, 'utf8')).toBe('precious\n');
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['link.json', 'manifest.video-chatgpt.json']));
    expect(existsSync(join(out, 'dreamframe-state', 'clips.json'))).toBe(true);
  }, 120_000);

  it('removes nothing while another format\'s manifest cannot be read', async () => {
    writeFileSync(join(out, 'manifest.jsonl.json'), '{ not json');
    review(p, 'frame', framesOf.get('c03_s01')!, 'rejected');
    const res = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 32 });
    expect(res.pruned.removed).toEqual([]);
    expect(res.pruned.kept).toEqual([{ path: 'manifest.jsonl.json', reason: expect.stringContaining('nothing was removed') }]);
    expect(existsSync(join(out, ...`${filmDir}_c03_s01.mp4`.split('/')))).toBe(true);
    rmSync(join(out, 'manifest.jsonl.json'));
  }, 120_000);
});

describe('re-export after a film is deleted or renamed', () => {
  let dir: string;
  let p: Project;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'df-export-prune-films-'));
    p = createProjectWithSample(join(dir, 'project'), true);
    importFilmDocumentFile(p, join(resourcesDir(), 'sample', 'film.json'));
    approveAll(p, 1);
    approveAll(p, 2);
  });
  afterAll(() => {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops the files of films no longer exported and empty folders, keeps the rest', async () => {
    const out = join(dir, 'out');
    const first = await runExport(p, { format: 'story-js', outDir: out });
    const [one, two] = first.manifest.films.map((f) => `story_js/${f.dir}.json`);
    expect(filesUnder(out)).toEqual(expect.arrayContaining([one, two]));
    mkdirSync(join(out, 'story_js', 'mine'));
    writeFileSync(join(out, 'story_js', 'mine', 'keep.json'), '{}');

    p.db.prepare('DELETE FROM film WHERE id = 2').run();
    p.db.prepare('UPDATE film SET title = ? WHERE id = 1').run('A new title');
    const res = await runExport(p, { format: 'story-js', outDir: out });
    const renamed = `story_js/${res.manifest.films[0].dir}.json`;
    expect(renamed).not.toBe(one);
    expect(res.pruned.removed).toEqual([one, two].sort());
    expect(filesUnder(out).filter((f) => f.startsWith('story_js/'))).toEqual([renamed, 'story_js/mine/keep.json'].sort());
    expect(res.manifest.files.map((f) => f.path)).toEqual(['README.story-js.md', renamed]);
  });

  it('removes a folder it emptied, but not the export folder', async () => {
    const out = join(dir, 'out-jsonl');
    await runExport(p, { format: 'jsonl', outDir: out, clips: true, allowPlaceholders: true, maxSize: 16, filmIds: [1] });
    const res = await runExport(p, { format: 'jsonl', outDir: out, clips: false, filmIds: [1] });
    // Clips stay for a JSON-only run; dropping the film from the export removes them and their folder.
    expect(res.pruned.removed).toEqual([]);
    review(p, 'frame', itemIds(p, 1, 'frame'), 'rejected');
    const empty = await runExport(p, { format: 'jsonl', outDir: out, clips: true, allowPlaceholders: true, maxSize: 16, filmIds: [1] });
    expect(empty.pruned.removed.length).toBeGreaterThan(0);
    expect(empty.pruned.removed.every((f) => f.startsWith('videos/'))).toBe(true);
    expect(existsSync(join(out, 'videos'))).toBe(false);
    expect(existsSync(out)).toBe(true);
  }, 60_000);
});
