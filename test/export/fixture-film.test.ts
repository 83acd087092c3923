import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../../src/main/export/exporter';
import { ConsistencyEntry, FLAT_STEM, GenericEntry, VIDEO_DIR } from '../../src/main/export/formats/video-chatgpt';
import { LlamaVidLongRecord, LlamaVidRecord } from '../../src/main/export/formats/llama-vid';
import { importStoryJsFile } from '../../src/main/import/story-js';
import { createProject, type Project } from '../../src/main/project/project';
import { getStoryboard } from '../../src/main/story/film-reader';
import { approveAll, itemIds, probe, review, storyFixture } from './helpers';

type StoryJs = { character: Record<string, string>; img_diag: [string, string][]; QA: { Question: string; Answer: string }[]; overview: string };
const original = JSON.parse(readFileSync(storyFixture, 'utf8')) as StoryJs;

/**
 * A frame prompt as the importer keeps it: the spelling of its style prefix (the "on" typo, spaces
 * around the colon), the case of the descriptors it swaps for names, and outer spaces do not survive.
 */
const normalise = (s: string) => s.trim()
  .replace(/^generate an image (in|on) (\S+?) style\s*:\s*/i, 'generate an image in $2 style: ').toLowerCase();

describe('export of the imported DreamFrame fixture film (story_info_0.json)', () => {
  let dir: string;
  let p: Project;
  let filmId: number;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'df-export-fx-'));
    p = createProject(join(dir, 'project'));
    filmId = importStoryJsFile(p, storyFixture).filmId;
  });
  afterAll(() => {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips through story_js: the export matches the release file and re-imports to the same film', async () => {
    approveAll(p, filmId);
    const res = await runExport(p, { format: 'story-js', outDir: join(dir, 'sj') });
    expect(res.clips.total).toBe(0);
    const file = join(dir, 'sj', 'story_js', `${res.manifest.films[0].dir}.json`);
    const text = readFileSync(file, 'utf8');
    const exported = JSON.parse(text) as StoryJs;
    expect(Object.keys(exported)).toEqual(['character', 'img_diag', 'QA', 'overview']);
    expect(exported.character).toEqual(original.character);
    expect(exported.QA).toEqual(original.QA);
    expect(exported.overview).toBe(original.overview);
    expect(exported.img_diag.map(([k]) => k)).toEqual(original.img_diag.map(([k]) => k));
    exported.img_diag.forEach(([kind, value], i) => {
      const want = original.img_diag[i][1];
      if (kind === 'dialogue') expect(value).toBe(want);
      else expect(normalise(value), `img_diag[${i}]`).toBe(normalise(want));
    });

    const again = importStoryJsFile(p, file);
    expect(again.unmapped).toEqual([]);
    const a = getStoryboard(p.db, filmId);
    const b = getStoryboard(p.db, again.filmId);
    expect(b.frames.map((f) => f.description.toLowerCase())).toEqual(a.frames.map((f) => f.description.toLowerCase()));
    expect(b.dialogue.map((d) => [d.text, d.afterFrame])).toEqual(a.dialogue.map((d) => [d.text, d.afterFrame]));
    expect(b.qa.map((q) => [q.scope, q.question, q.answer])).toEqual(a.qa.map((q) => [q.scope, q.question, q.answer]));
    p.db.prepare('DELETE FROM film WHERE id = ?').run(again.filmId);
  });

  it('encodes clips at 2 fps for the two approved subchapters and keeps only QA pairs that have a clip', async () => {
    // Only the first two subchapters' frames stay approved; everything else goes back to draft.
    const frames = itemIds(p, filmId, 'frame');
    review(p, 'frame', frames.slice(22), 'draft');
    const out = join(dir, 'lv');
    const res = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: out, maxSize: 48, fps: 2 });
    expect(res.clips.total).toBe(2 + 1 + 1);
    const board = getStoryboard(p.db, filmId);
    const dirName = res.manifest.films[0].dir;
    for (const stem of ['c01_s01', 'c01_s02']) {
      const info = await probe(join(out, 'videos', `${dirName}_${stem}.mp4`));
      expect(info).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', frames: 22 });
      expect(info.fps).toBe(2);
      expect(info.durationS).toBeCloseTo(11, 1);
    }
    const film = await probe(join(out, 'videos', `${dirName}_film.mp4`));
    expect(film.frames).toBe(44);
    expect(film.durationS).toBeCloseTo(22, 1);
    expect(existsSync(join(out, 'videos', `${dirName}_c01_s03.mp4`))).toBe(false);

    const records = LlamaVidRecord.array().parse(JSON.parse(readFileSync(join(out, 'llama_vid.json'), 'utf8')));
    const scoped = (pred: (q: (typeof board.qa)[number]) => boolean) => board.qa.filter(pred).length;
    const subs = board.subchapters.slice(0, 2).map((s) => s.id);
    const expectedTurns = scoped((q) => q.scope === 'film') + scoped((q) => q.scope === 'chapter' && q.chapterId === board.chapters[0].id)
      + scoped((q) => q.scope === 'subchapter' && subs.includes(q.subchapterId!));
    expect(records.map((r) => r.id)).toEqual([`${dirName}_film`, `${dirName}_c01`, `${dirName}_c01_s01`, `${dirName}_c01_s02`]);
    expect(records.reduce((n, r) => n + r.conversations.length / 2, 0)).toBe(expectedTurns);
    // the overview pair leads the film record, as in the release file
    expect(records[0].conversations[0].value).toBe(`<image>\n${original.QA[0].Question}`);
    expect(records[0].conversations[1].value).toBe(original.QA[0].Answer);

    const long = LlamaVidLongRecord.parse(JSON.parse(readFileSync(join(out, 'llama_vid_long.json'), 'utf8'))[0]);
    expect(long.inputs.split('<image>').length - 1).toBe(22);
    const lines = board.dialogue.filter((d) => subs.includes(d.subchapterId));
    expect(long.inputs).toContain(lines[0].text);
    expect(long.conversations.length / 2).toBe(board.qa.length);
  }, 120_000);

  it('writes Video-ChatGPT generic, temporal and consistency files whose videos exist', async () => {
    const out = join(dir, 'vc');
    await runExport(p, { format: 'video-chatgpt', allowPlaceholders: true, outDir: out, maxSize: 48, fps: 2 });
    const generic = GenericEntry.array().parse(JSON.parse(readFileSync(join(out, 'generic_qa.json'), 'utf8')));
    const temporal = GenericEntry.array().parse(JSON.parse(readFileSync(join(out, 'temporal_qa.json'), 'utf8')));
    const consistency = ConsistencyEntry.array().parse(JSON.parse(readFileSync(join(out, 'consistency_qa.json'), 'utf8')));
    expect(generic.length + temporal.length).toBe(consistency.length);
    expect(temporal.length).toBeGreaterThan(0);
    // Video-ChatGPT opens <video_dir>/<video_name>.mp4 and its scoring writes <output_dir>/<video_name>.json.
    for (const e of [...generic, ...temporal, ...consistency]) {
      expect(e.video_name).toMatch(FLAT_STEM);
      expect(e.video_name).not.toContain('/');
      expect(existsSync(join(out, VIDEO_DIR, `${e.video_name}.mp4`)), e.video_name).toBe(true);
    }
    for (const e of temporal) expect(e.Q).toMatch(/\b(when|before|after|first|then|finally|next|later|earlier|begin|beginning|begins|end|ends|sequence|order|while|during|chronological)\b/i);
    for (const c of consistency) expect(c.Q2).not.toBe(c.Q1);
    const qs = new Set(consistency.map((c) => c.Q1));
    expect(qs.has(original.QA[0].Question)).toBe(true);
  }, 120_000);
});
