import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createProjectWithSample } from '../../src/main/app/context';
import { runExport, type ExportResult } from '../../src/main/export/exporter';
import { LlamaVidLongRecord, LlamaVidRecord } from '../../src/main/export/formats/llama-vid';
import type { Project } from '../../src/main/project/project';
import { getStoryboard } from '../../src/main/story/film-reader';
import { approveAll, itemIds, probe, review } from './helpers';

/**
 * The sample film (3 chapters × 2 subchapters × 4 frames) exported as LLaMA-VID data with tiny
 * clips; a few items are rejected or left in draft to check the review filter.
 */
describe('LLaMA-VID export of the sample project', () => {
  let dir: string;
  let p: Project;
  let filmId: number;
  let result: ExportResult;
  let outDir: string;
  const rejected = { frame: 0, dialogue: 0, qa: 0 };
  const drafts = { frame: 0, qa: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'df-export-lv-'));
    p = createProjectWithSample(join(dir, 'project'), true);
    filmId = getStoryboard(p.db, 1).film.id;
    approveAll(p, filmId);
    const frames = itemIds(p, filmId, 'frame');
    const lines = itemIds(p, filmId, 'dialogue');
    const qa = itemIds(p, filmId, 'qa');
    rejected.frame = frames[5];
    rejected.dialogue = lines[1];
    rejected.qa = qa[3];
    drafts.frame = frames[9];
    drafts.qa = qa[4];
    review(p, 'frame', [rejected.frame], 'rejected');
    review(p, 'dialogue', [rejected.dialogue], 'rejected');
    review(p, 'qa', [rejected.qa], 'rejected');
    review(p, 'frame', [drafts.frame], 'draft');
    review(p, 'qa', [drafts.qa], 'draft');
    outDir = join(dir, 'out');
    result = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir, maxSize: 64 });
  }, 120_000);

  afterAll(() => {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = (rel: string) => readFileSync(join(outDir, rel), 'utf8');

  it('writes records that satisfy the LLaMA-VID loader schema, with every video present', () => {
    const records = JSON.parse(read('llama_vid.json')) as unknown[];
    const board = getStoryboard(p.db, filmId);
    // one record per scope with at least one allowed QA pair: film + 3 chapters + 6 subchapters at most
    expect(records.length).toBeGreaterThan(0);
    expect(records.length).toBeLessThanOrEqual(1 + board.chapters.length + board.subchapters.length);
    for (const r of records) {
      const rec = LlamaVidRecord.parse(r);
      expect(statSync(join(outDir, rec.video)).size).toBeGreaterThan(0);
    }
    const ids = records.map((r) => (r as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
    const long = JSON.parse(read('llama_vid_long.json')) as unknown[];
    expect(long).toHaveLength(1);
    LlamaVidLongRecord.parse(long[0]);
  });

  it('keeps every approved QA pair once, in its scope, and leaves rejected and draft ones out', () => {
    const board = getStoryboard(p.db, filmId);
    const records = LlamaVidRecord.array().parse(JSON.parse(read('llama_vid.json')));
    const questions = records.flatMap((r) => r.conversations.filter((t) => t.from === 'human').map((t) => t.value.replace(/^<image>\n/, '')));
    const approved = board.qa.filter((q) => q.review.state === 'approved').map((q) => q.question.trim());
    expect([...questions].sort()).toEqual([...approved].sort());
    const all = read('llama_vid.json') + read('llama_vid_long.json');
    for (const id of [rejected.qa, drafts.qa]) {
      const q = board.qa.find((x) => x.id === id)!;
      expect(all).not.toContain(JSON.stringify(q.question).slice(1, -1));
    }
    const line = board.dialogue.find((d) => d.id === rejected.dialogue)!;
    expect(all + read(`videos/${result.manifest.films[0].dir}_film.srt`)).not.toContain(line.text);
    // a subchapter record's answers belong to that subchapter's QA pairs
    for (const r of records.filter((x) => /_c\d\d_s\d\d$/.test(String(x.id)))) {
      const [, c, s] = /_c(\d\d)_s(\d\d)$/.exec(String(r.id))!.map(Number);
      const sub = board.subchapters.filter((x) => x.chapterId === board.chapters[c - 1].id)[s - 1];
      const subQa = board.qa.filter((q) => q.subchapterId === sub.id && q.scope === 'subchapter').map((q) => q.answer.trim());
      for (const t of r.conversations.filter((x) => x.from === 'gpt')) expect(subQa).toContain(t.value);
    }
  });

  it('encodes H.264 yuv420p clips at ≥ 1 fps with one second per approved keyframe', async () => {
    const board = getStoryboard(p.db, filmId);
    const approvedFrames = board.frames.filter((f) => f.review.state === 'approved');
    const dirName = result.manifest.films[0].dir;
    const subs = board.subchapters;
    let subTotal = 0;
    for (const [i, sub] of subs.entries()) {
      const chapterIndex = board.chapters.findIndex((c) => c.id === sub.chapterId);
      const si = subs.filter((s) => s.chapterId === sub.chapterId).indexOf(sub);
      const expected = approvedFrames.filter((f) => f.subchapterId === sub.id).length;
      const file = join(outDir, 'videos', `${dirName}_c${String(chapterIndex + 1).padStart(2, '0')}_s${String(si + 1).padStart(2, '0')}.mp4`);
      const info = await probe(file);
      expect({ i, codec: info.codec, pixFmt: info.pixFmt, frames: info.frames }).toEqual({ i, codec: 'h264', pixFmt: 'yuv420p', frames: expected });
      expect(info.fps).toBeGreaterThanOrEqual(1);
      expect(info.durationS).toBeCloseTo(expected, 1);
      expect(info.width % 2).toBe(0);
      expect(info.height % 2).toBe(0);
      expect(Math.max(info.width, info.height)).toBeLessThanOrEqual(64);
      subTotal += expected;
    }
    const film = await probe(join(outDir, 'videos', `${dirName}_film.mp4`));
    expect(film.frames).toBe(approvedFrames.length);
    expect(subTotal).toBe(approvedFrames.length);
    expect(film.durationS).toBeCloseTo(approvedFrames.length, 1);
    const ch1 = await probe(join(outDir, 'videos', `${dirName}_c01.mp4`));
    const ch1Frames = approvedFrames.filter((f) => subs.find((s) => s.id === f.subchapterId)!.chapterId === board.chapters[0].id).length;
    expect(ch1.frames).toBe(ch1Frames);
  });

  it('puts one <image> per keyframe with the dialogue interleaved in the long-video input, matching the subtitles', () => {
    const board = getStoryboard(p.db, filmId);
    const long = JSON.parse(read('llama_vid_long.json'))[0] as { inputs: string; conversations: { value: string }[] };
    const approvedFrames = board.frames.filter((f) => f.review.state === 'approved').length;
    expect(long.inputs.split('<image>').length - 1).toBe(approvedFrames);
    const lines = board.dialogue.filter((d) => d.review.state === 'approved');
    let from = 0;
    for (const l of lines) {
      const at = long.inputs.indexOf(l.text, from);
      expect(at, l.text).toBeGreaterThanOrEqual(from);
      from = at;
    }
    const srt = read(`videos/${result.manifest.films[0].dir}_film.srt`);
    expect(srt.match(/-->/g)).toHaveLength(lines.length);
    // cue times: a line that follows the k-th kept frame of the film shows during second k
    const first = lines[0];
    const board2 = board.frames.filter((f) => f.subchapterId === first.subchapterId && f.review.state === 'approved');
    const keptBefore = board2.filter((f) => f.position < first.afterFrame).length;
    const offset = board.frames.filter((f) => f.review.state === 'approved').findIndex((f) => f.subchapterId === first.subchapterId);
    const sec = offset + Math.max(keptBefore - 1, 0);
    expect(srt).toContain(`00:00:${String(sec).padStart(2, '0')},000 -->`);
  });

  it('writes a manifest whose checksums match the files, with counts and settings', async () => {
    const { createHash } = await import('node:crypto');
    const m = JSON.parse(read('manifest.llama-vid.json'));
    expect(m.formatVersion).toBe(1);
    expect(m.settings).toMatchObject({ includeDrafts: false, fps: 1, maxSize: 64, clips: true });
    expect(m.counts.clips).toBe(1 + 3 + 6);
    expect(m.counts.unrenderedFrames).toBe(m.stats.frames);
    expect(m.counts.excluded).toEqual({ frames: 2, dialogueLines: 1, qaPairs: 2 });
    for (const f of m.files) {
      const bytes = readFileSync(join(outDir, f.path));
      expect(createHash('sha256').update(bytes).digest('hex'), f.path).toBe(f.sha256);
      expect(bytes.length).toBe(f.bytes);
    }
    expect(m.files.map((f: { path: string }) => f.path)).toContain('llama_vid.json');
  });

  it('exports byte-identical data files and reuses every clip the second time', async () => {
    const names = ['llama_vid.json', 'llama_vid_long.json', 'manifest.llama-vid.json'];
    const before = names.map(read);
    const mtimes = result.manifest.files.filter((f) => f.path.endsWith('.mp4')).map((f) => statSync(join(outDir, f.path)).mtimeMs);
    const again = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir, maxSize: 64 });
    expect(again.clips).toEqual({ total: 10, encoded: 0, reused: 10 });
    expect(names.map(read)).toEqual(before);
    expect(again.manifest.files.filter((f) => f.path.endsWith('.mp4')).map((f) => statSync(join(outDir, f.path)).mtimeMs)).toEqual(mtimes);
    // a fresh folder gets the same JSON bytes too
    const other = join(dir, 'out2');
    await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: other, maxSize: 64 });
    expect(readFileSync(join(other, 'llama_vid.json'), 'utf8')).toBe(before[0]);
    expect(readFileSync(join(other, 'manifest.llama-vid.json'), 'utf8')).toBe(before[2]);
  }, 60_000);

  it('re-encodes only the clips whose frames changed', async () => {
    const board = getStoryboard(p.db, filmId);
    // un-reject the rejected frame: its subchapter, chapter and the film change; nothing else
    review(p, 'frame', [rejected.frame], 'approved');
    const again = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir, maxSize: 64 });
    expect(again.clips).toEqual({ total: 10, encoded: 3, reused: 7 });
    const film = await probe(join(outDir, 'videos', `${again.manifest.films[0].dir}_film.mp4`));
    expect(film.frames).toBe(board.frames.filter((f) => f.review.state === 'approved').length + 1);
    review(p, 'frame', [rejected.frame], 'rejected');
  }, 60_000);

  it('adds drafts with includeDrafts but never rejected items', async () => {
    const board = getStoryboard(p.db, filmId);
    const res = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: join(dir, 'drafts'), maxSize: 64, includeDrafts: true });
    expect(res.manifest.counts.excluded).toEqual({ frames: 1, dialogueLines: 1, qaPairs: 1 });
    const text = readFileSync(join(dir, 'drafts', 'llama_vid.json'), 'utf8');
    const draftQ = board.qa.find((q) => q.id === drafts.qa)!.question;
    const rejectedQ = board.qa.find((q) => q.id === rejected.qa)!.question;
    expect(text).toContain(JSON.stringify(draftQ).slice(1, -1));
    expect(text).not.toContain(JSON.stringify(rejectedQ).slice(1, -1));
    expect(res.manifest.stats.frames).toBe(board.frames.length - 1);
  }, 60_000);

  it('writes the same records without encoding when clips are off (JSON-only export)', async () => {
    const other = join(dir, 'json-only');
    const res = await runExport(p, { format: 'llama-vid', allowPlaceholders: true, outDir: other, clips: false, maxSize: 64 });
    expect(res.clips.total).toBe(0);
    expect(res.manifest.settings.clips).toBe(false);
    expect(res.manifest.files.map((f) => f.path)).toEqual(['README.llama-vid.md', 'llama_vid.json', 'llama_vid_long.json', 'llama_vid_long_pkl.json']);
    expect(readFileSync(join(other, 'llama_vid.json'), 'utf8')).toBe(read('llama_vid.json'));
  });
});
