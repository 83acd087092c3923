import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { runExport, selectFilms } from '../../src/main/export/exporter';
import { LlamaVidLongRecord, LlamaVidRecord } from '../../src/main/export/formats/llama-vid';
import { ConsistencyEntry, FLAT_STEM, rephrase, VIDEO_DIR } from '../../src/main/export/formats/video-chatgpt';
import { estimateMp4Record, estimatePklRecord, STAGE_MAX_TOKENS, VISUAL_TOKENS_PER_FRAME } from '../../src/main/export/tokens';
import { importStoryJsFile } from '../../src/main/import/story-js';
import { createProject, type Project } from '../../src/main/project/project';
import { getStoryboard } from '../../src/main/story/film-reader';
import { approveAll, solidKeyframes, storyFixture } from './helpers';

/**
 * The exports checked against what LLaMA-VID (b3d3ae2b) and Video-ChatGPT (659e04b2) do with them:
 * video paths they resolve, records within the stage context lengths, single-turn .pkl records.
 */

type Long = ReturnType<typeof LlamaVidLongRecord.parse>;
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as unknown;

/**
 * What LLaMA-VID does with a .pkl record: `inputs` (its "<image>" repeated video_token = 2 times)
 * replaces the first turn's "<image>"; preprocess_imgsp_v1 then gives every later human turn an
 * "<image>" of its own. The count of image positions must equal the features: 2 per frame.
 */
function pklImagePositions(rec: Long): number {
  const expanded = rec.inputs.split('<image>').join('<image><image>');
  let n = 0;
  rec.conversations.forEach((t, i) => {
    const value = i === 0 ? t.value.replace('<image>', expanded) : t.value;
    n += value.split('<image>').length - 1;
    if (i > 0 && t.from === 'human' && !t.value.includes('<image>')) n += 1;
  });
  return n;
}

describe('release film (story_info_0.json, 1,331 frames) as LLaMA-VID data', () => {
  let dir: string;
  let p: Project;
  let filmId: number;
  let out: string;
  let frames: Map<string, number>;
  let questions: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'df-export-consumers-'));
    p = createProject(join(dir, 'project'));
    filmId = importStoryJsFile(p, storyFixture).filmId;
    approveAll(p, filmId);
    // Frames per clip, from the film's structure: the clip names records point at.
    const [film] = selectFilms(p, [filmId], false);
    frames = new Map();
    let total = 0;
    for (const ch of film.chapters) {
      let chFrames = 0;
      for (const sub of ch.subchapters) {
        frames.set(`videos/${film.dirName}_${sub.stem}.mp4`, sub.frames.length);
        chFrames += sub.frames.length;
      }
      frames.set(`videos/${film.dirName}_${ch.stem}.mp4`, chFrames);
      total += chFrames;
    }
    frames.set(`videos/${film.dirName}_film.mp4`, total);
    questions = getStoryboard(p.db, filmId).qa.map((q) => q.question.trim());
    out = join(dir, 'lv');
    await runExport(p, { format: 'llama-vid', outDir: out, clips: false });
  }, 120_000);

  afterAll(() => {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every llama_vid.json record within stage 2 (2,048 tokens) and reports what cannot fit', () => {
    const records = LlamaVidRecord.array().parse(readJson(join(out, 'llama_vid.json')));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.llama-vid.json'), 'utf8')) as { tokenBudgets: { file: string; maxTokens: number; leftOut: { id: string; question: string; estimate: number }[]; split: unknown[] }[] };
    const budget = manifest.tokenBudgets.find((b) => b.file === 'llama_vid.json')!;
    expect(budget.maxTokens).toBe(STAGE_MAX_TOKENS.stage2);
    for (const r of records) {
      const n = frames.get(r.video);
      expect(n, r.video).toBeGreaterThan(0);
      expect(estimateMp4Record(r.conversations, n!).total, String(r.id)).toBeLessThanOrEqual(2048);
    }
    // The film clip alone is 1,331 × 2 visual tokens: its questions are left out, with the reason.
    expect(frames.get([...frames.keys()].find((k) => k.endsWith('_film.mp4'))!)! * VISUAL_TOKENS_PER_FRAME).toBeGreaterThan(2048);
    expect(records.some((r) => r.video.endsWith('_film.mp4'))).toBe(false);
    expect(budget.leftOut.length).toBeGreaterThan(0);
    for (const l of budget.leftOut) expect(l.estimate).toBeGreaterThan(2048);
    // Nothing lost silently: every question is in a record or in the left-out list, once.
    const asked = records.flatMap((r) => r.conversations.filter((t) => t.from === 'human').map((t) => t.value.replace(/^<image>\n/, '')));
    expect([...asked, ...budget.leftOut.map((l) => l.question)].sort()).toEqual([...questions].sort());
  });

  it('splits llama_vid_long.json by rounds within stage 3 (65,536 tokens), each part keeping the film\'s inputs', () => {
    const long = LlamaVidLongRecord.array().parse(readJson(join(out, 'llama_vid_long.json')));
    expect(long.length).toBeGreaterThan(1);
    const filmFrames = Math.max(...frames.values());
    for (const r of long) {
      expect(estimateMp4Record(r.conversations, filmFrames).total, r.id).toBeLessThanOrEqual(65536);
      expect(r.inputs.split('<image>').length - 1).toBe(filmFrames);
      expect(existsSync(join(out, r.video)) || frames.has(r.video)).toBe(true);
    }
    expect(long.flatMap((r) => r.conversations.filter((t) => t.from === 'human').map((t) => t.value.replace(/^<image>\n/, ''))))
      .toEqual(questions);
  });

  it('writes single-turn .pkl-route records whose image positions match the features LLaMA-VID extracts', () => {
    const pkl = LlamaVidLongRecord.array().parse(readJson(join(out, 'llama_vid_long_pkl.json')));
    const filmFrames = Math.max(...frames.values());
    expect(pkl).toHaveLength(questions.length);
    for (const r of pkl) {
      expect(r.conversations).toHaveLength(2);
      expect(r.video).toMatch(/^videos\/[^/]+_film\.pkl$/);
      expect(pklImagePositions(r)).toBe(filmFrames * VISUAL_TOKENS_PER_FRAME);
      expect(estimatePklRecord(r.conversations, r.inputs).total).toBeLessThanOrEqual(65536);
    }
    // The old single record with all 144 rounds would not have matched: 143 extra positions.
    const all = { ...pkl[0], conversations: pkl.flatMap((r) => r.conversations) };
    expect(pklImagePositions(all)).toBe(filmFrames * VISUAL_TOKENS_PER_FRAME + questions.length - 1);
  });

  it('fits a smaller --max-tokens budget by splitting further', async () => {
    const small = join(dir, 'small');
    await runExport(p, { format: 'llama-vid', outDir: small, clips: false, maxTokens: { stage2: 400, stage3: 8000 } });
    const records = LlamaVidRecord.array().parse(readJson(join(small, 'llama_vid.json')));
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect(estimateMp4Record(r.conversations, frames.get(r.video)!).total).toBeLessThanOrEqual(400);
    // Records that no longer fit whole are split by rounds into parts, each led by its own "<image>\n".
    const split = records.filter((r) => /_p\d+$/.test(String(r.id)));
    expect(split.length).toBeGreaterThan(1);
    for (const r of split) expect(r.conversations[0].value.startsWith('<image>\n')).toBe(true);
    const long = LlamaVidLongRecord.array().parse(readJson(join(small, 'llama_vid_long.json')));
    for (const r of long) expect(estimateMp4Record(r.conversations, Math.max(...frames.values())).total).toBeLessThanOrEqual(8000);
  });

  it('writes a README and the same usage facts in the manifest', () => {
    const readme = readFileSync(join(out, 'README.llama-vid.md'), 'utf8');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.llama-vid.json'), 'utf8')) as { usage: string[] };
    for (const line of manifest.usage) expect(readme).toContain(line);
    expect(readme).toContain('--video_folder');
    expect(readme).toContain('--group_by_modality_length');
    expect(readme).toContain('stage_3_full_v7b_224_longvid.sh');
  });
});

describe('exports that would be empty or show placeholder cards', () => {
  let dir: string;
  let p: Project;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'df-export-empty-'));
    p = createProject(join(dir, 'project'));
    importStoryJsFile(p, storyFixture);
  });
  afterAll(() => {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails with the reason, naming --include-drafts, when a freshly imported film has nothing approved', async () => {
    for (const format of ['llama-vid', 'video-chatgpt', 'jsonl', 'story-js'] as const) {
      const err = await runExport(p, { format, outDir: join(dir, format) }).then(() => null, (e: unknown) => e);
      expect(err, format).toMatchObject({ code: 'export_empty' });
      expect((err as Error).message).toContain('--include-drafts');
      expect((err as Error).message).toMatch(/left out by review: 1331 frames/);
      expect(existsSync(join(dir, format, `manifest.${format}.json`))).toBe(false);
    }
  });

  it('refuses frames without a render in clips unless allowPlaceholders', async () => {
    const err = await runExport(p, { format: 'llama-vid', outDir: join(dir, 'cards'), includeDrafts: true, maxSize: 16 }).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'export_placeholders' });
    expect((err as Error).message).toContain('--allow-placeholders');
    expect((err as Error).message).toContain('1331 frame(s)');
    // Without clips no card is encoded, so the same export goes through.
    const res = await runExport(p, { format: 'llama-vid', outDir: join(dir, 'json'), includeDrafts: true, clips: false });
    expect(res.manifest.counts.records['llama_vid.json']).toBeGreaterThan(0);
  });
});

describe('sample film with keyframes: clip names the consumers resolve, parallel encoding', () => {
  let dir: string;
  let p: Project;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'df-export-flat-'));
    p = createProjectWithSample(join(dir, 'project'), true);
    approveAll(p, 1);
    await solidKeyframes(p, 1);
  });
  afterAll(() => {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names every video by a flat stem that resolves in the clips folder (both formats)', async () => {
    const lv = join(dir, 'lv');
    await runExport(p, { format: 'llama-vid', outDir: lv, maxSize: 16 });
    const records = LlamaVidRecord.array().parse(readJson(join(lv, 'llama_vid.json')));
    for (const r of records) {
      expect(r.video).toMatch(/^videos\/[^/]+\.mp4$/);
      expect(existsSync(join(lv, r.video)), r.video).toBe(true); // --video_folder <export folder>
    }
    const vc = join(dir, 'vc');
    await runExport(p, { format: 'video-chatgpt', outDir: vc, maxSize: 16 });
    const entries = ConsistencyEntry.array().parse(readJson(join(vc, 'consistency_qa.json')));
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      expect(e.video_name).toMatch(FLAT_STEM);
      expect(existsSync(join(vc, VIDEO_DIR, `${e.video_name}.mp4`)), e.video_name).toBe(true); // --video_dir <export>/videos
      expect(e.Q2).toMatch(/[^.?!]\?$/);
    }
  }, 120_000);

  it('encodes byte-identical clips in parallel and one at a time', async () => {
    const serial = await runExport(p, { format: 'llama-vid', outDir: join(dir, 'serial'), maxSize: 32 }, { concurrency: 1 });
    const parallel = await runExport(p, { format: 'llama-vid', outDir: join(dir, 'parallel'), maxSize: 32 }, { concurrency: 4 });
    expect(parallel.clips.encoded).toBe(serial.clips.encoded);
    expect(parallel.clips.encoded).toBeGreaterThan(4);
    expect(parallel.manifest).toEqual(serial.manifest);
    const hash = (root: string, rel: string) => createHash('sha256').update(readFileSync(join(root, rel))).digest('hex');
    for (const f of serial.manifest.files) expect(hash(join(dir, 'parallel'), f.path), f.path).toBe(hash(join(dir, 'serial'), f.path));
    // An unchanged re-export in parallel reuses every clip.
    const again = await runExport(p, { format: 'llama-vid', outDir: join(dir, 'parallel'), maxSize: 32 }, { concurrency: 4 });
    expect(again.clips).toEqual({ total: serial.clips.total, encoded: 0, reused: serial.clips.total });
  }, 120_000);
});

describe('consistency Q2', () => {
  it('ends in a single "?" whatever the question ends with', () => {
    expect(rephrase('What happens in the forest.')).toBe('Based on the video, answer this question: what happens in the forest?');
    expect(rephrase('Who opens the door?')).toBe('Based on the video, answer this question: who opens the door?');
    expect(rephrase('Describe the final scene!  ')).toBe('Based on the video, answer this question: describe the final scene?');
    expect(rephrase('Why?!.')).toBe('Based on the video, answer this question: why?');
  });
});
