import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, Storyboard } from '../../src/shared/api/entities';
import type { RenderInfo } from '../../src/shared/api/methods-render';
import { dispatch } from '../../src/main/api/dispatch';
import { createProjectWithSample } from '../../src/main/app/context';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { launchChromium } from '../support/chromium';
import { dreamframeFixtureDir, repoRoot, tinySd15Dir } from '../support/paths';
import { TestWsClient } from '../support/ws-client';

/**
 * The curation scenario in Chromium against serve mode, with the tiny SD 1.5 fixture:
 * import a story, render a subchapter and watch the job reach 100 %, approve and reject frames,
 * edit a dialogue line and undo it, re-render one frame with a new seed, then stop the server in
 * the middle of a film render and start it again: the job resumes and no finished frame is
 * rendered twice. Expected values come from the story file and the database, not from the UI.
 */

const rendererDir = resolve(repoRoot, 'out/renderer');
const screenshotDir = resolve(repoRoot, 'test-results/screenshots');
const FRAMES = 12;

let workDir = '';
let projectDir = '';
let storyPath = '';
let server: RunningServer;
let browser: Browser;
let page: Page;
let ws: TestWsClient;
let filmId = 0;

/** The first FRAMES frames (with the dialogue among them) of the release's story_js, as a small story file. */
function writeSmallStory(path: string): { frames: string[]; lines: string[] } {
  const full = JSON.parse(readFileSync(join(dreamframeFixtureDir, 'story_info_0.json'), 'utf8')) as
    { character: Record<string, string>; img_diag: [string, string][]; QA: unknown[]; overview: string };
  const items: [string, string][] = [];
  let frames = 0;
  for (const item of full.img_diag) {
    if (item[0] === 'frame' && ++frames > FRAMES) break;
    items.push(item);
  }
  writeFileSync(path, JSON.stringify({ character: full.character, img_diag: items, QA: full.QA.slice(0, 3), overview: full.overview }));
  return { frames: items.filter((i) => i[0] === 'frame').map((i) => i[1]), lines: items.filter((i) => i[0] === 'dialogue').map((i) => i[1]) };
}

let t0 = Date.now();
const steps: string[] = [];
/** Progress notes, printed when the scenario fails, to show where it stopped. */
function step(name: string): void {
  steps.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${name}`);
}

async function api<T>(method: string, input: unknown): Promise<T> {
  return ws.call(method, input) as Promise<T>;
}

function renderRowsOfJob(jobId: number): { frame_id: number; id: number }[] {
  const db = new Database(join(projectDir, 'project.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT id, frame_id FROM render WHERE job_id = ? AND status = 'done' ORDER BY id").all(jobId) as { frame_id: number; id: number }[];
  } finally {
    db.close();
  }
}

async function connect(): Promise<void> {
  ws = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
}

async function waitForJob(jobId: number, status: Job['status'] = 'done'): Promise<void> {
  await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"][data-status="${status}"]`).waitFor({ timeout: 90_000 });
}

/** The job a click queued: waits until a job newer than `after` exists (the click's request is asynchronous). */
async function newJob(after: number): Promise<Job> {
  for (;;) {
    const jobs = await api<Job[]>('jobs.list', {});
    const newest = jobs.reduce<Job | null>((a, b) => (a === null || b.id > a.id ? b : a), null);
    if (newest && newest.id > after) return newest;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function focusFrame(ordinal: number): Promise<void> {
  const card = page.locator(`[data-testid="frame-card"][data-ordinal="${ordinal}"]`);
  await card.scrollIntoViewIfNeeded();
  await card.click({ position: { x: 5, y: 5 } });
  await page.locator(`[data-testid="frame-card"][data-ordinal="${ordinal}"][data-focused="true"]`).waitFor();
}

beforeAll(async () => {
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`The renderer is not built: ${rendererDir}/index.html is missing. Run "npm run build" before the e2e tests.`);
  }
  mkdirSync(screenshotDir, { recursive: true });
  workDir = mkdtempSync(join(tmpdir(), 'dreamframe-e2e-render-'));
  projectDir = join(workDir, 'project');
  storyPath = join(workDir, 'small_story.json');
  createProjectWithSample(projectDir, false).close();
  server = await startServer({ projectDir, port: 0, rendererDir });
  await connect();
  browser = await launchChromium();
});

afterAll(async () => {
  ws?.close();
  await browser?.close();
  await server?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('rendering and curation in serve mode', () => {
  it('imports, renders, reviews, edits and undoes, re-renders with a new seed, and resumes a film render after a restart', async () => {
    try {
      await scenario();
    } catch (err) {
      await page?.screenshot({ path: join(screenshotDir, 'render-curation-failure.png') }).catch(() => undefined);
      throw new Error(`${(err as Error).message}\nsteps done:\n${steps.join('\n')}`);
    }
  }, 240_000);
});

async function scenario(): Promise<void> {
    // Import a story (the API the import dialog calls), then open it in the browser.
    t0 = Date.now();
    const story = writeSmallStory(storyPath);
    const report = await api<{ filmId: number; counts: { frames: number } }>('films.importStoryJs', { path: storyPath });
    filmId = report.filmId;
    expect(report.counts.frames).toBe(FRAMES);

    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err.message));
    await page.goto(server.url);
    await page.waitForSelector('[data-app-state="loaded"]');
    await page.click(`[data-testid="film-item"][data-film-id="${filmId}"]`);
    await page.waitForSelector(`[data-testid="storyboard"][data-film-id="${filmId}"] [data-testid="frame-card"]`);
    await focusFrame(0);

    step('opened film');
    // Render settings for the tiny model, through the panel's form.
    await page.keyboard.press('c');
    await page.click('[data-testid="tab-render"]');
    // A folder outside the model library: the picker's "Other ONNX folder…" entry takes a typed path.
    await page.selectOption('[data-testid="setting-model"]', { label: 'Other ONNX folder…' });
    await page.fill('[data-testid="setting-model-path"]', join(tinySd15Dir, 'pipeline'));
    await page.fill('[data-testid="setting-width"]', '16');
    await page.fill('[data-testid="setting-height"]', '16');
    await page.fill('[data-testid="setting-steps"]', '2');
    await page.click('[data-testid="save-settings"]');
    await expect.poll(async () => (await api<{ width: number; steps: number }>('render.getSettings', { filmId })).width).toBe(16);

    step('settings saved');
    // Render the subchapter and watch the jobs view go to 100 %.
    const percents: string[] = [];
    await page.click('[data-testid="render-subchapter"]');
    await page.locator('[data-testid="jobs-view"]').waitFor();
    const subJob = await newJob(0);
    const row = page.locator(`[data-testid="job-row"][data-job-id="${subJob.id}"]`);
    while ((await row.getAttribute('data-status')) !== 'done') {
      const text = await row.locator('[data-testid="job-percent"]').textContent().catch(() => null);
      if (text && percents.at(-1) !== text) percents.push(text);
      await page.waitForTimeout(40);
    }
    percents.push((await row.locator('[data-testid="job-percent"]').textContent())!);
    expect(percents.at(-1)).toBe('100 %');
    expect(percents.some((p) => p !== '0 %' && p !== '100 %')).toBe(true);
    // Every card now shows its keyframe (decoded webp thumbnails, no "not rendered" label).
    await expect.poll(() => page.locator('[data-testid="not-rendered"]').count()).toBe(0);
    const board = await api<Storyboard>('films.storyboard', { filmId });
    expect(board.frames.every((f) => f.thumbnail.kind === 'render')).toBe(true);
    const firstThumb = page.locator('[data-testid="frame-card"][data-ordinal="0"] .thumb img');
    await expect.poll(() => firstThumb.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(16);
    await page.screenshot({ path: join(screenshotDir, 'render-curation-rendered.png') });

    step('subchapter rendered');
    // Approve three frames in bulk and reject two with a note, from the review list filtered to frames in draft.
    await page.click('[data-testid="close-jobs"]');
    await page.click('[data-testid="tab-review"]');
    await page.selectOption('[data-testid="curation-filter"]', 'draft');
    const frameHits = page.locator('[data-testid="hit"][data-type="frame"]');
    await expect.poll(() => frameHits.count()).toBe(FRAMES);
    const ids = await frameHits.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-id'))));
    for (const i of [0, 1, 2]) await frameHits.nth(i).locator('[data-testid="hit-select"]').check();
    await expect(page.textContent('[data-testid="selection-count"]')).resolves.toBe('3');
    await page.click('[data-testid="bulk-approve"]');
    await expect.poll(() => frameHits.count()).toBe(FRAMES - 3);
    for (const i of [0, 1]) await frameHits.nth(i).locator('[data-testid="hit-select"]').check();
    // Reject opens the in-app dialog (reason from the list, note).
    await page.click('[data-testid="bulk-reject"]');
    await page.fill('[data-testid="reject-note"]', 'hands look wrong');
    await page.click('[data-testid="reject-confirm"]');
    await expect.poll(() => frameHits.count()).toBe(FRAMES - 5);
    const reviewed = await api<Storyboard>('films.storyboard', { filmId });
    const stateOf = (id: number) => reviewed.frames.find((f) => f.id === id)!.review;
    expect(ids.slice(0, 3).map((id) => stateOf(id).state)).toEqual(['approved', 'approved', 'approved']);
    expect(ids.slice(3, 5).map(stateOf)).toEqual([{ state: 'rejected', note: 'hands look wrong', reason: null }, { state: 'rejected', note: 'hands look wrong', reason: null }]);
    await page.selectOption('[data-testid="curation-filter"]', 'rejected');
    await expect.poll(() => frameHits.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-id'))))).toEqual(ids.slice(3, 5));
    await page.selectOption('[data-testid="curation-filter"]', '');

    step('reviewed');
    // Edit a dialogue line (found by search) and undo it.
    const line = story.lines[0];
    await page.fill('[data-testid="curation-search"]', line.slice(0, 20));
    const lineHit = page.locator('[data-testid="hit"][data-type="dialogue"]').first();
    await lineHit.waitFor();
    const lineId = Number(await lineHit.getAttribute('data-id'));
    await lineHit.locator('[data-testid="hit-edit"]').click();
    await lineHit.locator('[data-testid="edit-text-input"]').fill('This is the final piece. It has to be flawless.');
    await lineHit.locator('[data-testid="edit-speaker-input"]').fill('Darius');
    await lineHit.locator('[data-testid="hit-save"]').click();
    const lineText = (sb: Storyboard) => sb.dialogue.find((d) => d.id === lineId)!;
    await expect.poll(async () => lineText(await api<Storyboard>('films.storyboard', { filmId })).text).toBe('This is the final piece. It has to be flawless.');
    await expect.poll(() => page.locator('.line-text', { hasText: 'It has to be flawless' }).count()).toBeGreaterThan(0);
    await expect.poll(() => page.textContent('[data-testid="undo-label"]')).toMatch(/^Edit line \d+ of \d+\.\d+$/);
    await page.click('[data-testid="undo-button"]');
    await expect.poll(async () => lineText(await api<Storyboard>('films.storyboard', { filmId }))).toMatchObject({ text: line, speaker: null });
    await expect.poll(() => page.locator('.line-text', { hasText: 'It has to be flawless' }).count()).toBe(0);
    await expect.poll(() => page.textContent('[data-testid="redo-button"]').then(() => page.getAttribute('[data-testid="redo-button"]', 'title'))).toMatch(/^Redo: Edit line \d+ of \d+\.\d+ \(Ctrl\+Shift\+Z\)$/);

    step('dialogue edited and undone');
    // Re-render the first frame with a new seed: the new render becomes the keyframe, the old one stays listed.
    await page.fill('[data-testid="curation-search"]', '');
    await focusFrame(0);
    const frame0 = board.frames[0];
    const before = await api<RenderInfo[]>('render.list', { frameId: frame0.id });
    await page.click('[data-testid="tab-edit"]');
    await page.click('[data-testid="rerender-new-seed"]');
    const reJob = await newJob(subJob.id);
    await waitForJob(reJob.id);
    const after = await api<RenderInfo[]>('render.list', { frameId: frame0.id });
    expect(after).toHaveLength(before.length + 1);
    expect(after[0]).toMatchObject({ isKeyframe: true, jobId: reJob.id });
    expect(after[0].seed).not.toBe(before[0].seed);
    await expect.poll(() => page.locator('[data-testid="render-item"][data-keyframe="true"]').getAttribute('data-seed')).toBe(String(after[0].seed));
    const newKey = (await api<Storyboard>('films.storyboard', { filmId })).frames[0].thumbnail.key;
    expect(newKey).not.toBe(frame0.thumbnail.key);
    // The full-size viewer shows the new keyframe; each render of the frame has its own thumbnail and full view.
    await page.keyboard.press('v');
    await expect.poll(() => page.locator('[data-testid="viewer-image"]').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(16);
    expect(await page.getAttribute('[data-testid="viewer-image"]', 'src')).toContain(`/media/full/frame/${frame0.id}`);
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="image-viewer"]').waitFor({ state: 'detached' });
    const renderThumbs = page.locator('[data-testid="render-item"] img');
    await expect.poll(() => renderThumbs.evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth))).toEqual([16, 16]);
    await renderThumbs.nth(1).click();
    expect(await page.getAttribute('[data-testid="viewer-image"]', 'src')).toContain(`/media/full/asset/${before[0].assetSha256}`);
    await expect.poll(() => page.locator('[data-testid="viewer-image"]').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(16);
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="image-viewer"]').waitFor({ state: 'detached' });

    step('re-rendered');
    // Film render, interrupted by stopping the server after a few frames, resumed by starting it again.
    await page.click('[data-testid="tab-render"]');
    await page.click('[data-testid="render-film"]');
    const filmJob = await newJob(reJob.id);
    await expect.poll(() => renderRowsOfJob(filmJob.id).length, { timeout: 60_000, interval: 20 }).toBeGreaterThanOrEqual(3);
    ws.close();
    const { port, token } = server;
    await server.close();
    const beforeRestart = renderRowsOfJob(filmJob.id);
    expect(beforeRestart.length).toBeLessThan(FRAMES);
    await page.locator('[data-testid="connection-state"]').filter({ hasText: /Reconnecting|Disconnected/ }).waitFor();

    step('server stopped');
    server = await startServer({ projectDir, port, token, rendererDir });
    await connect();
    await page.locator('[data-connection="open"]').waitFor({ timeout: 30_000 });
    if (!(await page.locator('[data-testid="jobs-view"]').isVisible())) await page.click('[data-testid="jobs-button"]');
    step('reconnected');
    await waitForJob(filmJob.id);
    await expect(page.textContent(`[data-testid="job-row"][data-job-id="${filmJob.id}"] [data-testid="job-percent"]`)).resolves.toBe('100 %');
    const rows = renderRowsOfJob(filmJob.id);
    // One render per frame, in film order; the renders made before the stop are the same rows.
    expect(rows.map((r) => r.frame_id)).toEqual(board.frames.map((f) => f.id));
    expect(rows.slice(0, beforeRestart.length)).toEqual(beforeRestart);
    await page.screenshot({ path: join(screenshotDir, 'render-curation-resumed.png') });
    await context.close();
}
