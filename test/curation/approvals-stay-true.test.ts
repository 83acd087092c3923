import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../../src/shared/api/entities';
import { dispatch } from '../../src/main/api/dispatch';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { createAppContext, jobKinds } from '../../src/main/composition';
import { JOB_KINDS_WITH_SETTINGS } from '../../src/shared/api/contract';
import { setRenderSettings } from '../../src/main/render/settings';
import { getStoryboard, listFilms } from '../../src/main/story/film-reader';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

/**
 * Issue #17 defects 2 and 6 through the API: an approval holds only for the picture and text that were approved
 * (New seed, Make keyframe and a text edit return the item to review, Undo brings the approval back), and a
 * failed render job can be retried with the current settings instead of the ones it was queued with.
 */

const model = join(tinySd15Dir, 'pipeline');
const tiny = { model, width: 16, height: 16, steps: 2, guidance: 3 };
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

const stateOf = (c: AppContext, filmId: number, frameId: number) =>
  getStoryboard(c.requireProject().db, filmId).frames.find((f) => f.id === frameId)!.review.state;

async function finished(c: AppContext, jobId: number): Promise<Job> {
  await c.jobs.whenIdle();
  return (await call(c, 'jobs.list', {}) as Job[]).find((j) => j.id === jobId)!;
}

describe('approvals stay true (#17 defect 6)', () => {
  it('a description edit returns an approved frame to draft in the same undoable edit', async () => {
    const { c, filmId } = open();
    const frame = getStoryboard(c.requireProject().db, filmId).frames[0];
    await call(c, 'review.set', { items: [{ type: 'frame', id: frame.id }], state: 'approved' });
    // An edit that changes nothing keeps the approval.
    await call(c, 'frames.update', { frameId: frame.id, description: frame.description });
    expect(stateOf(c, filmId, frame.id)).toBe('approved');
    await call(c, 'frames.update', { frameId: frame.id, description: 'A different picture entirely' });
    expect(stateOf(c, filmId, frame.id)).toBe('draft');
    expect((await call(c, 'curation.history', { filmId })).undo).toBe('Edit frame 1.1.1');
    await call(c, 'edits.undo', { filmId });
    expect(stateOf(c, filmId, frame.id)).toBe('approved');
    expect(getStoryboard(c.requireProject().db, filmId).frames[0].description).toBe(frame.description);
  });

  it('an approved dialogue line whose text changes returns to draft', async () => {
    const { c, filmId } = open();
    const line = getStoryboard(c.requireProject().db, filmId).dialogue[0];
    await call(c, 'review.set', { items: [{ type: 'dialogue', id: line.id }], state: 'approved' });
    const edited = await call(c, 'dialogue.update', { id: line.id, text: `${line.text} (revised)` });
    expect(edited.review.state).toBe('draft');
  });

  it('New seed and Make keyframe return an approved frame to review; Undo restores the approval', async () => {
    const { c, filmId } = open();
    await call(c, 'render.setSettings', { filmId, settings: tiny });
    const frame = getStoryboard(c.requireProject().db, filmId).frames[0];
    const first = await call(c, 'render.start', { filmId, scope: { kind: 'frames', frameIds: [frame.id] } });
    expect((await finished(c, first.jobId)).status).toBe('done');
    await call(c, 'review.set', { items: [{ type: 'frame', id: frame.id }], state: 'approved' });
    expect(stateOf(c, filmId, frame.id)).toBe('approved');

    const newSeed = await call(c, 'render.start', { filmId, scope: { kind: 'frames', frameIds: [frame.id] }, seed: 777 });
    expect((await finished(c, newSeed.jobId)).status).toBe('done');
    expect(stateOf(c, filmId, frame.id)).toBe('draft');
    expect((await call(c, 'curation.history', { filmId })).undo).toBe('Frame 1.1.1 back to review (new keyframe rendered)');
    await call(c, 'edits.undo', { filmId });
    expect(stateOf(c, filmId, frame.id)).toBe('approved');

    // Make keyframe: choosing the older render changes the picture again.
    const renders = await call(c, 'render.list', { frameId: frame.id });
    const older = renders.find((r: any) => !r.isKeyframe);
    await call(c, 'render.chooseKeyframe', { renderId: older.id });
    expect(stateOf(c, filmId, frame.id)).toBe('draft');
    // Choosing the keyframe it already has changes nothing.
    await call(c, 'review.set', { items: [{ type: 'frame', id: frame.id }], state: 'approved' });
    await call(c, 'render.chooseKeyframe', { renderId: older.id });
    expect(stateOf(c, filmId, frame.id)).toBe('approved');
  });
});

describe('resume of a failed render job (#17 defect 2)', () => {
  it('says which settings it uses, and retries with the current settings when asked', async () => {
    const { c, filmId } = open();
    const db = c.requireProject().db;
    // The model folder the job was queued with is gone by the time it runs (saving refuses a missing folder).
    const gone = join(tempDir(), 'moved-away-model');
    setRenderSettings(db, filmId, { ...tiny, model: gone });
    const frame = getStoryboard(db, filmId).frames[0];
    const { jobId } = await call(c, 'render.start', { filmId, scope: { kind: 'frames', frameIds: [frame.id] } });
    expect((await finished(c, jobId)).status).toBe('failed');

    await call(c, 'render.setSettings', { filmId, settings: { model } });
    const plain = await call(c, 'jobs.resume', { jobId });
    expect(plain.resumed).toBe(true);
    expect(plain.settings).toContain(`model ${gone}`);
    const again = await finished(c, jobId);
    expect(again.status).toBe('failed');
    expect(again.error?.message).toContain(gone);

    const retried = await call(c, 'jobs.resume', { jobId, useCurrentSettings: true });
    expect(retried).toEqual({ resumed: true, settings: `model ${model}, 16×16, 2 steps, euler, guidance 3` });
    expect((await finished(c, jobId)).status).toBe('done');
    expect((await call(c, 'render.list', { frameId: frame.id }))[0]).toMatchObject({ status: 'done', model: expect.stringContaining('pipeline') });
  });

  it('the UI offers "retry with current settings" for exactly the kinds that support it', () => {
    expect(jobKinds.filter((k) => k.withCurrentSettings).map((k) => k.kind).sort()).toEqual([...JOB_KINDS_WITH_SETTINGS].sort());
  });

  it('refuses current settings for a kind that has none of its own, and leaves the job as it was', async () => {
    const { c } = open();
    const db = c.requireProject().db;
    const jobId = Number(db.prepare("INSERT INTO job (kind, status, params_json) VALUES ('export', 'failed', '{}')").run().lastInsertRowid);
    const out = await dispatch(c, 'jobs.resume', { jobId, useCurrentSettings: true });
    expect(out.ok).toBe(false);
    expect(db.prepare('SELECT status FROM job WHERE id = ?').get(jobId)).toEqual({ status: 'failed' });
  });
});
