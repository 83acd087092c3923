import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, Storyboard } from '../../src/shared/api/entities';
import { createProjectWithSample } from '../../src/main/app/context';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { launchChromium } from '../support/chromium';
import { repoRoot, tinySd15Dir } from '../support/paths';
import { TestWsClient } from '../support/ws-client';

/**
 * Issue #17 part A in Chromium against serve mode (the sample film, the tiny SD 1.5 fixture): each defect of the
 * curation list as a curator meets it — "only missing" renders, render settings checked in the form, resume with
 * current settings, the export dialog's errors, preflight and unlock, the selection mark, the reject dialog with
 * reasons, undo labels by frame label, the edit tab's line layout — and the review flow (auto-advance, next
 * unreviewed, persisted setting). Expected values come from the database, not from the UI under test.
 */

const rendererDir = resolve(repoRoot, 'out/renderer');
const screenshotDir = resolve(repoRoot, 'test-results/screenshots');
const model = join(tinySd15Dir, 'pipeline');

let workDir = '';
let projectDir = '';
let server: RunningServer;
let browser: Browser;
let page: Page;
let ws: TestWsClient;
let filmId = 0;
let board: Storyboard;

async function api<T = any>(method: string, input: unknown): Promise<T> {
  return ws.call(method, input) as Promise<T>;
}

function query<T>(sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(projectDir, 'project.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

async function jobDone(jobId: number, status: Job['status'] = 'done'): Promise<void> {
  await expect.poll(async () => (await api<Job[]>('jobs.list', {})).find((j) => j.id === jobId)?.status, { timeout: 60_000 }).toBe(status);
}

async function newestJobId(): Promise<number> {
  return Math.max(0, ...(await api<Job[]>('jobs.list', {})).map((j) => j.id));
}

async function focusFrame(ordinal: number): Promise<void> {
  const card = page.locator(`[data-testid="frame-card"][data-ordinal="${ordinal}"]`);
  await card.scrollIntoViewIfNeeded();
  await card.click({ position: { x: 5, y: 5 } });
  await page.locator(`[data-testid="frame-card"][data-ordinal="${ordinal}"][data-focused="true"]`).waitFor();
}

const focusedOrdinal = () => page.getAttribute('[data-testid="frame-card"][data-focused="true"]', 'data-ordinal').then(Number);
const stateOf = async (frameId: number) => (await api<Storyboard>('films.storyboard', { filmId })).frames.find((f) => f.id === frameId)!.review;

beforeAll(async () => {
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`The renderer is not built: ${rendererDir}/index.html is missing. Run "npx electron-vite build" first.`);
  }
  mkdirSync(screenshotDir, { recursive: true });
  workDir = mkdtempSync(join(tmpdir(), 'dreamframe-e2e-review-'));
  projectDir = join(workDir, 'project');
  createProjectWithSample(projectDir, true).close();
  server = await startServer({ projectDir, port: 0, rendererDir });
  ws = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
  browser = await launchChromium();
  filmId = (await api<{ id: number }[]>('films.list', {}))[0].id;
  board = await api<Storyboard>('films.storyboard', { filmId });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (err) => console.error('[page error]', err.message));
  // window.prompt() is what ⇧R used; Electron has none. Any native dialog here is a failure.
  page.on('dialog', (d) => { throw new Error(`native dialog opened: ${d.type()} ${d.message()}`); });
  await page.goto(`${server.url}#film=${filmId}`);
  await page.waitForSelector(`[data-testid="storyboard"][data-film-id="${filmId}"] [data-testid="frame-card"]`);
});

afterAll(async () => {
  ws?.close();
  await browser?.close();
  await server?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

async function shot<T>(name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    await page?.screenshot({ path: join(screenshotDir, `curation-review-${name}.png`) }).catch(() => undefined);
    throw err;
  }
}

describe('curation defects and the review flow (#17 part A)', () => {
  it('defect 5: the render settings form checks width, steps and the model folder next to the fields', () => shot('settings', async () => {
    await focusFrame(0);
    await page.keyboard.press('c');
    await page.click('[data-testid="tab-render"]');
    const before = await api('render.getSettings', { filmId });
    await page.fill('[data-testid="setting-width"]', '63');
    await page.click('[data-testid="save-settings"]');
    await expect.poll(() => page.textContent('[data-testid="error-width"]')).toMatch(/Width 63 is not a multiple of 8; try 56 or 64/);
    await page.fill('[data-testid="setting-width"]', '');
    await page.fill('[data-testid="setting-steps"]', '');
    await page.click('[data-testid="save-settings"]');
    await expect.poll(() => page.textContent('[data-testid="error-steps"]')).toBe('Steps: enter a whole number from 1 to 500');
    // The raw contract path never reaches the bar, and the bar keeps its buttons.
    expect(await page.locator('[data-testid="curation-message"]', { hasText: '$.settings' }).count()).toBe(0);
    expect((await page.locator('[data-testid="undo-button"]').boundingBox())!.width).toBeGreaterThan(40);
    await page.fill('[data-testid="setting-steps"]', '2');
    await page.selectOption('[data-testid="setting-model"]', { label: 'Other ONNX folder…' });
    const missing = join(workDir, 'no-such-model');
    await page.fill('[data-testid="setting-model-path"]', missing);
    await page.click('[data-testid="save-settings"]');
    await expect.poll(() => page.textContent('[data-testid="error-model"]')).toBe(`Model folder ${missing} does not exist`);
    expect(await api('render.getSettings', { filmId })).toEqual(before);
    // A good model saves; the errors go away.
    await page.fill('[data-testid="setting-model-path"]', model);
    await page.fill('[data-testid="setting-width"]', '16');
    await page.fill('[data-testid="setting-height"]', '16');
    await page.click('[data-testid="save-settings"]');
    await expect.poll(async () => (await api('render.getSettings', { filmId })).model).toBe(model);
    expect(await page.locator('[data-testid="error-model"]').count()).toBe(0);
  }), 60_000);

  it('defect 1: "Only frames without a current keyframe" reaches render.start and skips rendered frames', () => shot('only-missing', async () => {
    const sub = board.subchapters[0];
    const frames = board.frames.filter((f) => f.subchapterId === sub.id);
    const first = await api<{ jobId: number }>('render.start', { filmId, scope: { kind: 'subchapter', subchapterId: sub.id } });
    await jobDone(first.jobId);
    // One frame's description changes: it is stale, the only one left to render.
    await api('frames.update', { frameId: frames[1].id, description: `${frames[1].description} At dusk.` });
    await focusFrame(0);
    const after = await newestJobId();
    await page.check('[data-testid="only-missing"]');
    await page.click('[data-testid="render-subchapter"]');
    await expect.poll(newestJobId).toBeGreaterThan(after);
    const jobId = await newestJobId();
    await jobDone(jobId);
    const [params] = query<{ params_json: string }>('SELECT params_json FROM job WHERE id = ?', jobId);
    expect(JSON.parse(params.params_json)).toMatchObject({ onlyMissing: true, scope: { kind: 'subchapter', subchapterId: sub.id } });
    expect(query<{ frame_id: number }>("SELECT frame_id FROM render WHERE job_id = ? AND status = 'done'", jobId).map((r) => r.frame_id)).toEqual([frames[1].id]);
    await page.uncheck('[data-testid="only-missing"]');
    await page.click('[data-testid="close-jobs"]').catch(() => undefined);
  }), 120_000);

  it('defect 2: a failed render job can be retried with the current settings, and says which it used', () => shot('resume', async () => {
    const gone = join(workDir, 'model-moved-away');
    mkdirSync(gone);
    await api('render.setSettings', { filmId, settings: { model: gone } });
    const { jobId } = await api<{ jobId: number }>('render.start', { filmId, scope: { kind: 'frames', frameIds: [board.frames[5].id] } });
    await jobDone(jobId, 'failed');
    await api('render.setSettings', { filmId, settings: { model } });
    await page.click('[data-testid="jobs-button"]');
    const row = page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`);
    await expect.poll(() => row.locator('[data-testid="job-resume"]').textContent()).toBe("Resume (job's settings)");
    await row.locator('[data-testid="job-retry-current"]').click();
    await expect.poll(() => page.textContent('[data-testid="jobs-resume-note"]')).toBe(`Job ${jobId} resumed with the current settings: model ${model}, 16×16, 2 steps, euler, guidance 5`);
    await jobDone(jobId);
    await page.click('[data-testid="close-jobs"]');
  }), 90_000);

  it('defect 8: x marks the card, ⇧R rejects in an in-app dialog with a reason and note, undo names the frame by its label', () => shot('select-reject', async () => {
    await page.keyboard.press('Escape');
    await focusFrame(2);
    const card = page.locator('[data-testid="frame-card"][data-ordinal="2"]');
    await page.keyboard.press('x');
    await expect.poll(() => card.getAttribute('data-selected')).toBe('true');
    await expect.poll(() => card.locator('[data-testid="selected-mark"]').count()).toBe(1);
    await page.keyboard.press('x');
    await expect.poll(() => card.getAttribute('data-selected')).toBe('false');

    await page.keyboard.press('Shift+R');
    const dialog = page.locator('[data-testid="reject-dialog"]');
    await dialog.waitFor();
    expect(await dialog.locator('[data-testid="reject-reason"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-reason'))))
      .toEqual(['off-style', 'wrong content', 'artifact', 'text mismatch']);
    // The list is editable, and stays edited.
    await dialog.locator('[data-testid="edit-reasons"]').click();
    await dialog.locator('[data-testid="new-reason"]').fill('bad hands');
    await dialog.locator('[data-testid="add-reason"]').click();
    await dialog.locator('[data-testid="reject-reason"][data-reason="bad hands"]').check();
    await dialog.locator('[data-testid="reject-note"]').fill('six fingers on the left hand');
    await dialog.locator('[data-testid="reject-confirm"]').click();
    await dialog.waitFor({ state: 'detached' });
    const frame = board.frames[2];
    await expect.poll(() => stateOf(frame.id)).toEqual({ state: 'rejected', note: 'six fingers on the left hand', reason: 'bad hands' });
    await expect.poll(() => card.locator('[data-testid="review-reason"]').textContent()).toBe('bad hands');
    await expect.poll(() => card.locator('[data-testid="review-note-text"]').textContent()).toBe(' — six fingers on the left hand');
    await expect.poll(() => page.textContent('[data-testid="undo-label"]')).toBe(`Reject frame ${await card.locator('[data-testid="frame-label"]').textContent()}`);
    expect(await page.evaluate(() => localStorage.getItem('dreamframe.review.reasons'))).toContain('bad hands');
  }), 60_000);

  it('review flow: a approves and moves on, u jumps to the next unreviewed frame, auto-advance can be switched off and stays off', () => shot('flow', async () => {
    await focusFrame(6);
    await page.keyboard.press('a');
    await expect.poll(focusedOrdinal).toBe(7);
    await expect.poll(() => stateOf(board.frames[6].id).then((r) => r.state)).toBe('approved');
    await page.keyboard.press('r');
    await expect.poll(focusedOrdinal).toBe(8);
    await expect.poll(() => stateOf(board.frames[7].id).then((r) => r.state)).toBe('rejected');
    // Frames 8 and 9 approved elsewhere: u from 7 skips them to the first draft after.
    await api('review.set', { items: [board.frames[8].id, board.frames[9].id].map((id) => ({ type: 'frame', id })), state: 'approved' });
    await focusFrame(7);
    await page.keyboard.press('u');
    await expect.poll(focusedOrdinal).toBe(10);

    if ((await page.locator('[data-testid="tab-review"]').count()) === 0) await page.click('[data-testid="curate-button"]');
    await page.click('[data-testid="tab-review"]');
    await page.uncheck('[data-testid="auto-advance"]');
    await focusFrame(10);
    await page.keyboard.press('a');
    await expect.poll(() => stateOf(board.frames[10].id).then((r) => r.state)).toBe('approved');
    expect(await focusedOrdinal()).toBe(10);
    await page.reload();
    await page.waitForSelector('[data-testid="frame-card"]');
    expect(await page.evaluate(() => localStorage.getItem('dreamframe.review.autoAdvance'))).toBe('0');
    await page.evaluate(() => localStorage.setItem('dreamframe.review.autoAdvance', '1'));
  }), 60_000);

  it('defect 7: Shift+A on a whole subchapter\'s frames approves its lines and QA too (the option is on by default)', () => shot('approve-sub', async () => {
    const subs = board.subchapters.filter((s) => board.qa.some((q) => q.subchapterId === s.id) && board.dialogue.some((d) => d.subchapterId === s.id));
    const sub = subs[0];
    const ordinals = board.frames.map((f, i) => (f.subchapterId === sub.id ? i : -1)).filter((i) => i >= 0);
    for (const ordinal of ordinals) {
      await focusFrame(ordinal);
      await page.keyboard.press('x');
    }
    await expect.poll(() => page.textContent('[data-testid="bar-selection"]')).toBe(`${ordinals.length} selected`);
    await page.keyboard.press('Shift+A');
    await expect.poll(async () => {
      const now = await api<Storyboard>('films.storyboard', { filmId });
      return [...now.dialogue.filter((d) => d.subchapterId === sub.id), ...now.qa.filter((q) => q.subchapterId === sub.id),
        ...now.frames.filter((f) => f.subchapterId === sub.id)].map((i) => i.review.state);
    }).toEqual(Array(board.dialogue.filter((d) => d.subchapterId === sub.id).length + board.qa.filter((q) => q.subchapterId === sub.id).length
      + ordinals.length).fill('approved'));
  }), 60_000);

  it('defect 8: the edit tab gives the line text the room, not the speaker', () => shot('edit-layout', async () => {
    const ordinal = board.frames.findIndex((f) => board.dialogue.some((d) => d.subchapterId === f.subchapterId
      && d.afterFrame === board.frames.filter((x) => x.subchapterId === f.subchapterId).indexOf(f) + 1));
    expect(ordinal).toBeGreaterThanOrEqual(0);
    await page.reload();
    await page.waitForSelector('[data-testid="frame-card"]');
    await focusFrame(ordinal);
    await page.keyboard.press('c');
    await page.click('[data-testid="tab-edit"]');
    const editor = page.locator('[data-testid="line-editor"]').first();
    await editor.waitFor();
    const speaker = (await editor.locator('[data-testid="line-speaker"]').boundingBox())!;
    const text = (await editor.locator('[data-testid="line-text"]').boundingBox())!;
    expect(speaker.width).toBeLessThanOrEqual(120);
    expect(text.width).toBeGreaterThan(2 * speaker.width);
    // Side by side, on one row.
    expect(Math.abs(speaker.y - text.y)).toBeLessThan(4);
    await page.keyboard.press('c');
  }), 60_000);

  it('defects 3 and 7: the export dialog asks before exporting, shows a refused or failed export and unlocks', () => shot('export', async () => {
    await page.click('[data-testid="export-button"]');
    const dialog = page.locator('[data-testid="export-dialog"]');
    await dialog.waitFor();
    await dialog.locator('[data-testid="export-format"]').selectOption('story-js');
    // Nothing of it is approved yet except a few frames: the preflight says what goes out, what stays out.
    await page.fill('[data-testid="export-out"]', join(workDir, 'dataset'));
    await dialog.locator('[data-testid="export-start"]').click();
    const stats = await api('export.preflight', { format: 'story-js' });
    await expect.poll(() => dialog.locator('[data-testid="preflight-out"]').textContent())
      .toMatch(new RegExp(`^${stats.frames} frames, ${stats.dialogueLines} dialogue lines and\\s+${stats.qaPairs} QA pairs`));
    await expect.poll(() => dialog.locator('[data-testid="preflight-left-out"]').textContent()).toContain(`${stats.excluded.frames} frames`);

    // A folder that cannot be created: the error shows, the fields stay usable.
    await page.fill('[data-testid="export-out"]', '/etc/hostname/out');
    await dialog.locator('[data-testid="export-start"]').click();
    await dialog.locator('[data-testid="export-confirm"]').click();
    await expect.poll(() => dialog.locator('[data-testid="export-error"]').textContent()).toMatch(/\/etc\/hostname\/out cannot be created: \/etc\/hostname is a file/);
    expect(await dialog.locator('[data-testid="export-format"]').isDisabled()).toBe(false);
    expect(await page.locator('[data-testid="export-out"]').isDisabled()).toBe(false);

    // A job that fails while running (the folder is another project): the dialog shows it failed, not "queued".
    const other = join(workDir, 'other-project');
    createProjectWithSample(other, false).close();
    await page.fill('[data-testid="export-out"]', other);
    await dialog.locator('[data-testid="export-start"]').click();
    await dialog.locator('[data-testid="export-confirm"]').click();
    await expect.poll(() => dialog.locator('[data-testid="export-status"]').textContent(), { timeout: 30_000 }).toMatch(/failed$/);
    await expect.poll(() => dialog.locator('[data-testid="export-error"]').textContent()).toMatch(/export_bad_folder/);
    expect(await dialog.locator('[data-testid="export-format"]').isDisabled()).toBe(false);
    expect(await dialog.locator('[data-testid="export-cancel"]').count()).toBe(0);
    // Reopened, it is still usable.
    await page.keyboard.press('Escape');
    await page.click('[data-testid="export-button"]');
    await dialog.waitFor();
    expect(await dialog.locator('[data-testid="export-format"]').isDisabled()).toBe(false);
    await expect.poll(() => dialog.locator('[data-testid="export-start"]').count()).toBe(1);

    // The picker offers the folder used before and browses the server's folders.
    await page.fill('[data-testid="export-out"]', workDir);
    await page.click('[data-testid="export-out-browse"]');
    await expect.poll(() => page.textContent('[data-testid="export-out-path"]')).toBe(workDir);
    await page.locator('[data-testid="picker-dir"]', { hasText: /^\s*📁 project\s*$/ }).click();
    await expect.poll(() => page.textContent('[data-testid="export-out-path"]')).toBe(projectDir);
    await page.click('[data-testid="export-out-choose"]');
    expect(await page.inputValue('[data-testid="export-out"]')).toBe(projectDir);
    await page.keyboard.press('Escape');
  }), 90_000);
});
