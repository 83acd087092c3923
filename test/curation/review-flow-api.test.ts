import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatch } from '../../src/main/api/dispatch';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { getStoryboard, listFilms } from '../../src/main/story/film-reader';
import { useTempDir } from '../support/tmp';

/**
 * Issue #17 defect 7 and the review flow through the API: approving a subchapter's frames "with lines and QA"
 * approves what it says, export.preflight tells what goes out and what stays out before an export, and a
 * rejection's reason and note are kept, undoable, and written to the export manifest.
 */

const tempDir = useTempDir();
let ctx: AppContext | null = null;
afterEach(async () => { await ctx?.close(); ctx = null; });

function open(): { c: AppContext; filmId: number } {
  ctx = createAppContext('test', createProjectWithSample(tempDir(), true));
  return { c: ctx, filmId: listFilms(ctx.requireProject().db)[0].id };
}

async function call(c: AppContext, method: string, input: unknown): Promise<any> {
  const out = await dispatch(c, method, input);
  if (!out.ok) throw new Error(`${method}: ${out.error.code} ${out.error.message}`);
  return out.result;
}

describe('review.set withLinesAndQa (#17 defect 7)', () => {
  it('approves the lines among the frames and the QA of subchapters whose frames are all approved', async () => {
    const { c, filmId } = open();
    const sb = getStoryboard(c.requireProject().db, filmId);
    const sub = sb.subchapters.find((s) => sb.qa.some((q) => q.subchapterId === s.id) && sb.dialogue.some((d) => d.subchapterId === s.id))!;
    const frames = sb.frames.filter((f) => f.subchapterId === sub.id);
    const lines = sb.dialogue.filter((d) => d.subchapterId === sub.id);
    const qa = sb.qa.filter((q) => q.subchapterId === sub.id);
    expect(frames.length).toBeGreaterThan(1);

    // Frames alone: lines and QA stay drafts (what made the export write 0 records).
    await call(c, 'review.set', { items: frames.map((f) => ({ type: 'frame', id: f.id })), state: 'approved' });
    let now = getStoryboard(c.requireProject().db, filmId);
    expect(now.dialogue.filter((d) => d.subchapterId === sub.id).every((d) => d.review.state === 'draft')).toBe(true);
    await call(c, 'edits.undo', { filmId });

    // Every frame but the last, with lines and QA: the lines after those frames, no QA (the subchapter is not complete).
    const someFrames = frames.slice(0, -1);
    const res = await call(c, 'review.set', { items: someFrames.map((f) => ({ type: 'frame', id: f.id })), state: 'approved', withLinesAndQa: true });
    const expectedLines = lines.filter((d) => Math.max(1, Math.min(d.afterFrame, frames.length)) <= someFrames.length);
    expect(res.updated).toBe(someFrames.length + expectedLines.length);
    now = getStoryboard(c.requireProject().db, filmId);
    expect(now.qa.filter((q) => q.subchapterId === sub.id).every((q) => q.review.state === 'draft')).toBe(true);
    await call(c, 'edits.undo', { filmId });

    // The whole subchapter: every line and QA pair of it, in one undo step.
    const all = await call(c, 'review.set', { items: frames.map((f) => ({ type: 'frame', id: f.id })), state: 'approved', withLinesAndQa: true });
    expect(all.updated).toBe(frames.length + lines.length + qa.length);
    now = getStoryboard(c.requireProject().db, filmId);
    expect(now.dialogue.filter((d) => d.subchapterId === sub.id).every((d) => d.review.state === 'approved')).toBe(true);
    expect(now.qa.filter((q) => q.subchapterId === sub.id).every((q) => q.review.state === 'approved')).toBe(true);
    expect((await call(c, 'curation.history', { filmId })).undo).toBe(`Approve ${all.updated} items`);
  });
});

describe('export.preflight (#17 defect 7)', () => {
  it('counts what goes out and what stays out, and says why an export would be empty', async () => {
    const { c, filmId } = open();
    const sb = getStoryboard(c.requireProject().db, filmId);
    const empty = await call(c, 'export.preflight', { format: 'llama-vid', filmIds: [filmId] });
    expect(empty).toMatchObject({ frames: 0, qaPairs: 0, excluded: { frames: sb.frames.length, qaPairs: sb.qa.length } });
    expect(empty.emptyReason).toMatch(/Nothing to export/);

    const sub = sb.subchapters[0];
    const frames = sb.frames.filter((f) => f.subchapterId === sub.id);
    await call(c, 'review.set', { items: frames.map((f) => ({ type: 'frame', id: f.id })), state: 'approved', withLinesAndQa: true });
    const stale = frames[0];
    c.requireProject().db.prepare('UPDATE frame SET stale = 1 WHERE id = ?').run(stale.id);
    const some = await call(c, 'export.preflight', { format: 'llama-vid', filmIds: [filmId] });
    const subQa = sb.qa.filter((q) => q.subchapterId === sub.id).length;
    expect(some).toMatchObject({
      frames: frames.length, unrenderedFrames: frames.length, staleFrames: 1, qaPairs: subQa,
      excluded: { frames: sb.frames.length - frames.length, qaPairs: sb.qa.length - subQa },
    });
    expect(some.emptyReason).toBe(subQa > 0 ? null : expect.any(String));
  });
});

describe('rejection reasons (review flow)', () => {
  it('keeps the reason and note of a rejection, undoably, and the export manifest lists them', async () => {
    const { c, filmId } = open();
    const sb = getStoryboard(c.requireProject().db, filmId);
    const [f1, f2] = sb.frames;
    await call(c, 'review.set', { items: [{ type: 'frame', id: f1.id }], state: 'rejected', reason: 'off-style', note: 'too dark' });
    await call(c, 'review.set', { items: [{ type: 'frame', id: f2.id }], state: 'rejected', reason: 'artifact', note: null });
    let frames = getStoryboard(c.requireProject().db, filmId).frames;
    expect(frames[0].review).toEqual({ state: 'rejected', note: 'too dark', reason: 'off-style' });
    expect((await call(c, 'curation.history', { filmId })).undo).toBe('Reject frame 1.1.2');
    await call(c, 'edits.undo', { filmId });
    frames = getStoryboard(c.requireProject().db, filmId).frames;
    expect(frames[1].review).toEqual({ state: 'draft', note: null, reason: null });
    await call(c, 'edits.redo', { filmId });
    // An approval carries no reason.
    const other = sb.frames[2];
    await call(c, 'review.set', { items: [{ type: 'frame', id: other.id }], state: 'approved', reason: 'off-style' });
    expect(getStoryboard(c.requireProject().db, filmId).frames[2].review.reason).toBeNull();

    await call(c, 'review.set', { items: sb.qa.map((q) => ({ type: 'qa', id: q.id })), state: 'approved' });
    const outDir = join(tempDir(), 'out');
    const job = await call(c, 'export.start', { format: 'jsonl', outDir, filmIds: [filmId], clips: false });
    await c.jobs.whenIdle();
    expect((await call(c, 'jobs.list', {})).find((j: any) => j.id === job.id)).toMatchObject({ status: 'done', error: null });
    const manifest = await call(c, 'export.manifest', { outDir, format: 'jsonl' });
    expect(manifest.review).toEqual({
      rejectedByReason: { 'off-style': 1, artifact: 1 },
      rejected: [
        { filmId, item: 'frame 1.1.1', reason: 'off-style', note: 'too dark' },
        { filmId, item: 'frame 1.1.2', reason: 'artifact', note: null },
      ],
    });
  });
});
