import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FilmSummary } from '../../src/shared/api/entities';
import type { FilmQuality } from '../../src/shared/api/methods-quality';
import type { RenderInfo } from '../../src/shared/api/methods-render';
import { createProjectWithSample } from '../../src/main/app/context';
import { createProject } from '../../src/main/project/project';
import { importStoryJsFile } from '../../src/main/import/story-js';
import { dispatch } from '../../src/main/api/dispatch';
import { storeImage } from '../../src/main/media/image-store';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { launchChromium } from '../support/chromium';
import { dreamframeFixtureDir, repoRoot } from '../support/paths';
import { keyframeFilm, noise } from '../quality/film-fixture';
import { QUALITY } from '../quality/fixture';

/**
 * The storyboard at film scale, in Chromium against serve mode: the grid and the storyboard's own filters on
 * the release film (1,331 frames from the story_js fixture), saved views across a reload, the quality-flag
 * filter on a film scored by the real quality job, and the variant comparison choosing a keyframe with `2`.
 * Expected numbers come from SQL on the project database and from the API, never from the UI under test.
 */

const rendererDir = resolve(repoRoot, 'out/renderer');
const screenshotDir = resolve(repoRoot, 'test-results/screenshots');

let dir = '';
let server: RunningServer;
let browser: Browser;
let bigFilmId = 0;
let smallFilmId = 0;
/** Frame of the small film given two extra renders to compare, and those renders' ids (oldest first). */
let compareFrameId = 0;
let expected: Record<string, number> = {};

async function call<T>(method: string, input: unknown): Promise<T> {
  const out = await dispatch(server.context, method as never, input as never);
  if (!out.ok) throw new Error(out.error.message);
  return out.result as T;
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('[page error]', err.message));
  return page;
}

async function openFilm(page: Page, filmId: number): Promise<void> {
  await page.click(`[data-testid="film-item"][data-film-id="${filmId}"]`);
  await page.waitForSelector(`[data-testid="storyboard"][data-film-id="${filmId}"] [data-testid="filter-bar"]`);
}

const shown = (page: Page) => page.getAttribute('[data-testid="filter-shown"]', 'data-shown').then(Number);
const chipCount = (page: Page, id: string) => page.getAttribute(`[data-testid="${id}"]`, 'data-count').then(Number);
const focusedOrdinal = (page: Page) => page.getAttribute('[data-testid="grid-card"][data-focused="true"]', 'data-ordinal').then(Number);

beforeAll(async () => {
  if (!existsSync(join(rendererDir, 'index.html'))) throw new Error(`The renderer is not built: run "npx electron-vite build" first (${rendererDir})`);
  mkdirSync(screenshotDir, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'dreamframe-e2e-grid-'));
  process.env.DREAMFRAME_QUALITY_CACHE = join(dir, 'cache');
  const projectDir = join(dir, 'project');
  const project = createProjectWithSample(projectDir, true);
  try {
    smallFilmId = (project.db.prepare("SELECT id FROM film WHERE source = 'sample'").get() as { id: number }).id;
    bigFilmId = importStoryJsFile(project, join(dreamframeFixtureDir, 'story_info_0.json')).filmId;
    // Review states, stale flags and failed render attempts on the big film.
    const ids = (project.db.prepare(`SELECT fr.id FROM frame fr JOIN subchapter s ON s.id = fr.subchapter_id JOIN chapter c ON c.id = s.chapter_id
      WHERE c.film_id = ? ORDER BY fr.id`).all(bigFilmId) as { id: number }[]).map((r) => r.id);
    project.db.prepare(`UPDATE frame SET review_state = 'approved' WHERE id IN (${ids.filter((_, i) => i % 5 === 0).join(',')})`).run();
    project.db.prepare(`UPDATE frame SET review_state = 'rejected' WHERE id IN (${ids.filter((_, i) => i % 17 === 2).join(',')})`).run();
    // The first rejected frame (ordinal 2) carries a reason and a note, which its grid card shows.
    project.db.prepare("UPDATE frame SET review_reason = 'artifact', review_note = 'hands melt' WHERE id = ?").run(ids[2]);
    project.db.prepare(`UPDATE frame SET stale = 1 WHERE id IN (${ids.filter((_, i) => i % 9 === 4).join(',')})`).run();
    const failed = project.db.prepare("INSERT INTO render (frame_id, variant, status, seed, model, error) VALUES (?, 0, 'failed', 0, 'm', 'boom')");
    for (const id of ids.filter((_, i) => i % 100 === 50)) failed.run(id);
    const count = (where: string, ...params: unknown[]) => (project.db.prepare(`SELECT count(*) AS n FROM frame fr
      JOIN subchapter s ON s.id = fr.subchapter_id JOIN chapter c ON c.id = s.chapter_id WHERE c.film_id = ? AND (${where})`)
      .get(bigFilmId, ...params) as { n: number }).n;
    const darius = project.db.prepare("SELECT name, lookalike FROM character WHERE film_id = ? AND name = 'Darius'").get(bigFilmId) as { name: string; lookalike: string };
    expected = {
      total: count('1'),
      draft: count("fr.review_state = 'draft'"),
      approved: count("fr.review_state = 'approved'"),
      rejected: count("fr.review_state = 'rejected'"),
      stale: count('fr.stale = 1'),
      staleDraft: count("fr.stale = 1 AND fr.review_state = 'draft'"),
      notRendered: count("NOT EXISTS (SELECT 1 FROM render r WHERE r.frame_id = fr.id AND r.status = 'done' AND r.is_keyframe = 1)"),
      failed: count("(SELECT status FROM render r WHERE r.frame_id = fr.id ORDER BY r.id DESC LIMIT 1) = 'failed'"),
      darius: count('instr(lower(fr.description), lower(?)) > 0 OR instr(lower(fr.description), lower(?)) > 0', darius.name, darius.lookalike),
    };

    // The small film: every frame a keyframe (two made odd on purpose, for the quality flags), and one
    // frame with two more finished renders to compare.
    await keyframeFilm(project, smallFilmId);
    compareFrameId = (project.db.prepare(`SELECT fr.id FROM frame fr JOIN subchapter s ON s.id = fr.subchapter_id JOIN chapter c ON c.id = s.chapter_id
      WHERE c.film_id = ? ORDER BY c.position, s.position, fr.position LIMIT 1`).get(smallFilmId) as { id: number }).id;
    for (const seed of [101, 202]) {
      const img = await storeImage(project, await noise(seed), 'image/png');
      project.db.prepare("INSERT INTO render (frame_id, variant, status, asset_sha256, seed, model, is_keyframe) VALUES (?, 0, 'done', ?, ?, 'test', 0)")
        .run(compareFrameId, img.sha256, seed);
    }
  } finally {
    project.close();
  }
  server = await startServer({ projectDir, port: 0, rendererDir });
  // Score the small film with the real quality job (tiny CLIP + LPIPS fixtures).
  await call('quality.start', { filmId: smallFilmId, clip: join(QUALITY, 'clip'), lpips: join(QUALITY, 'lpips', 'lpips.onnx') });
  await server.context.jobs.whenIdle();
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  delete process.env.DREAMFRAME_QUALITY_CACHE;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('storyboard grid and filters (serve mode, Chromium)', () => {
  it('filters the 1,331-frame film with counts equal to the database, in the grid, moving in 2-D and selecting ranges', async () => {
    const films = await call<FilmSummary[]>('films.list', {});
    expect(films.find((f) => f.id === bigFilmId)!.counts.frames).toBe(1331);
    const page = await newPage();
    await page.goto(server.url);
    await page.waitForSelector('[data-app-state="loaded"]');
    await openFilm(page, bigFilmId);

    // Nothing rendered yet: the one-line checklist above the film points at the render step.
    await page.waitForSelector('[data-testid="checklist"][data-compact="true"]');
    expect(await page.getAttribute('[data-testid="checklist-step"][data-step="render"]', 'data-done')).toBe('false');
    expect(await page.getAttribute('[data-testid="checklist-step"][data-step="theme"]', 'data-done')).toBe('true');

    // Counts per filter, straight from SQL.
    await expect.poll(() => chipCount(page, 'filter-failed')).toBe(expected.failed);
    expect(expected.failed).toBeGreaterThan(0);
    expect(await chipCount(page, 'filter-review-draft')).toBe(expected.draft);
    expect(await chipCount(page, 'filter-review-approved')).toBe(expected.approved);
    expect(await chipCount(page, 'filter-review-rejected')).toBe(expected.rejected);
    expect(await chipCount(page, 'filter-stale')).toBe(expected.stale);
    expect(await chipCount(page, 'filter-not-rendered')).toBe(expected.notRendered);

    // The grid, switched on with `g`.
    await page.locator('[data-testid="frame-card"]').first().click();
    await page.keyboard.press('g');
    await page.waitForSelector('[data-testid="grid-card"]');
    const columns = Number(await page.getAttribute('[data-testid="grid-scroll"]', 'data-columns'));
    expect(columns).toBeGreaterThan(2);
    // Virtualised: a screenful of cards in the DOM, not 1,331.
    expect(await page.locator('[data-testid="grid-card"]').count()).toBeLessThan(300);
    await page.screenshot({ path: join(screenshotDir, 'storyboard-grid.png') });
    expect(await page.getAttribute('[data-testid="grid-card"][data-ordinal="2"] [data-testid="grid-review-why"]', 'title')).toBe('artifact — hands melt');

    // 2-D moves: down goes to the same column of the next row of cards, right/left step, up comes back.
    await page.keyboard.press('Home');
    await expect.poll(() => focusedOrdinal(page)).toBe(0);
    const firstRow = await page.locator('[data-testid="grid-cards-row"]').first().locator('[data-testid="grid-card"]').count();
    await page.keyboard.press('l');
    await expect.poll(() => focusedOrdinal(page)).toBe(1);
    await page.keyboard.press('j');
    const secondRow = await page.locator('[data-testid="grid-cards-row"]').nth(1).locator('[data-testid="grid-card"]').evaluateAll((els) =>
      els.map((e) => Number(e.getAttribute('data-ordinal'))));
    await expect.poll(() => focusedOrdinal(page)).toBe(secondRow[Math.min(1, secondRow.length - 1)]);
    expect(secondRow[0]).toBe(firstRow);
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => focusedOrdinal(page)).toBe(1);

    // Click, Shift-click range, Ctrl-click toggle.
    await page.click('[data-testid="grid-card"][data-ordinal="0"]');
    await page.click('[data-testid="grid-card"][data-ordinal="4"]', { modifiers: ['Shift'] });
    const selected = () => page.locator('[data-testid="grid-card"][data-selected="true"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-ordinal'))).sort((a, b) => a - b));
    await expect.poll(selected).toEqual([0, 1, 2, 3, 4]);
    await page.click('[data-testid="grid-card"][data-ordinal="2"]', { modifiers: ['Control'] });
    await expect.poll(selected).toEqual([0, 1, 3, 4]);

    // The storyboard itself filters: stale frames only, every card shown marked stale.
    await page.click('[data-testid="filter-stale"]');
    await expect.poll(() => shown(page)).toBe(expected.stale);
    const marks = await page.locator('[data-testid="grid-card"]').evaluateAll((els) => els.map((e) => !!e.querySelector('[data-testid="grid-stale"]')));
    expect(marks.length).toBeGreaterThan(0);
    expect(marks.every(Boolean)).toBe(true);
    // Ctrl+A selects every frame the filtered storyboard shows (for the dock's bulk review).
    await page.keyboard.press('Shift+C');
    await expect.poll(selected).toEqual([]);
    await page.keyboard.press('Control+a');
    await expect.poll(() => page.locator('[data-testid="grid-card"][data-selected="false"]').count()).toBe(0);
    await page.keyboard.press('c');
    await expect.poll(() => page.textContent('[data-testid="selection-count"]')).toBe(String(expected.stale));
    await page.keyboard.press('Shift+C');
    await page.keyboard.press('c');
    await page.click('[data-testid="filter-stale"]');
    await page.click('[data-testid="filter-failed"]');
    await expect.poll(() => shown(page)).toBe(expected.failed);
    // Virtualised: the cards in the DOM are a screenful of them, each marked.
    const failedMarks = await page.locator('[data-testid="grid-card"]').evaluateAll((els) => els.map((e) => !!e.querySelector('[data-testid="grid-failed"]')));
    expect(failedMarks.length).toBeGreaterThan(0);
    expect(failedMarks.every(Boolean)).toBe(true);
    await page.click('[data-testid="filter-failed"]');

    // Character and text.
    await page.selectOption('[data-testid="filter-character"]', 'Darius');
    await expect.poll(() => shown(page)).toBe(expected.darius);
    await page.selectOption('[data-testid="filter-character"]', '');
    const matches = await call<{ textMatches: number[] }>('curation.frameFilters', { filmId: bigFilmId, query: "shop blacksmith's" });
    expect(matches.textMatches.length).toBeGreaterThan(0);
    await page.fill('[data-testid="filter-text"]', "shop blacksmith's");
    await expect.poll(() => shown(page)).toBe(matches.textMatches.length);
    await page.fill('[data-testid="filter-text"]', '');
    await expect.poll(() => page.locator('[data-testid="filter-shown"]').textContent()).toBe('');

    // A saved view survives a reload.
    await page.click('[data-testid="filter-review-draft"]');
    await page.click('[data-testid="filter-stale"]');
    await expect.poll(() => shown(page)).toBe(expected.staleDraft);
    await page.fill('[data-testid="saved-view-name"]', 'Stale drafts');
    await page.click('[data-testid="saved-view-save"]');
    await page.reload();
    await page.waitForSelector('[data-app-state="loaded"]');
    await page.waitForSelector(`[data-testid="storyboard"][data-film-id="${bigFilmId}"] [data-testid="grid-card"]`);
    expect(await page.locator('[data-testid="filter-shown"]').textContent()).toBe('');
    await page.selectOption('[data-testid="saved-views"]', 'Stale drafts');
    await expect.poll(() => shown(page)).toBe(expected.staleDraft);
    expect(await page.getAttribute('[data-testid="filter-stale"]', 'class')).toContain('on');
    await page.context().close();
  });

  it('shows exactly the frames the quality job flagged, without touching their review state', async () => {
    const quality = await call<FilmQuality>('quality.film', { filmId: smallFilmId });
    const flagged = quality.frames.filter((f) => f.flags.length > 0).map((f) => f.frameId).sort((a, b) => a - b);
    expect(flagged.length).toBeGreaterThan(0);
    expect(flagged.length).toBeLessThan(quality.frames.length);
    const before = await call<{ frames: { id: number; review: { state: string } }[] }>('films.storyboard', { filmId: smallFilmId });

    const page = await newPage();
    await page.goto(`${server.url}#film=${smallFilmId}`);
    await page.waitForSelector('[data-app-state="loaded"]');
    await openFilm(page, smallFilmId);
    // The flags arrive with quality.film; until then the select is disabled.
    await expect.poll(() => page.isEnabled('[data-testid="filter-quality"]'), { timeout: 15_000 }).toBe(true);
    await page.selectOption('[data-testid="filter-quality"]', 'any');
    await expect.poll(() => shown(page)).toBe(flagged.length);
    const ids = async () => (await page.locator('[data-testid="grid-card"], [data-testid="frame-card"]').evaluateAll((els) =>
      els.map((e) => Number(e.getAttribute('data-frame-id'))))).sort((a, b) => a - b);
    await expect.poll(ids).toEqual(flagged);
    const after = await call<typeof before>('films.storyboard', { filmId: smallFilmId });
    expect(after.frames.map((f) => f.review.state)).toEqual(before.frames.map((f) => f.review.state));
    await page.context().close();
  });

  it('compares a frame\'s variants and makes the second the keyframe with key 2', async () => {
    const renders = (await call<RenderInfo[]>('render.list', { frameId: compareFrameId })).filter((r) => r.status === 'done').sort((a, b) => a.id - b.id);
    expect(renders).toHaveLength(3);
    expect(renders[0].isKeyframe).toBe(true);
    const page = await newPage();
    await page.goto(`${server.url}#film=${smallFilmId}`);
    await page.waitForSelector('[data-app-state="loaded"]');
    await openFilm(page, smallFilmId);
    await page.click(`[data-testid="grid-card"][data-frame-id="${compareFrameId}"], [data-testid="frame-card"][data-frame-id="${compareFrameId}"]`);
    await page.keyboard.press('Shift+W');
    await page.waitForSelector('[data-testid="compare-view"]');
    await expect.poll(() => page.locator('[data-testid="compare-variant"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-render-id')))))
      .toEqual(renders.map((r) => r.id));
    await page.keyboard.press('2');
    await page.waitForSelector(`[data-testid="compare-variant"][data-render-id="${renders[1].id}"][data-keyframe="true"]`);
    const now = await call<RenderInfo[]>('render.list', { frameId: compareFrameId });
    expect(now.filter((r) => r.isKeyframe).map((r) => r.id)).toEqual([renders[1].id]);
    // Zoom, then Esc closes the comparison; the list card's "variants" button opens it again.
    await page.keyboard.press('+');
    expect(await page.textContent('[data-testid="compare-zoom"]')).toBe('125%');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('[data-testid="compare-view"]').count()).toBe(0);
    await page.click(`[data-testid="frame-card"][data-frame-id="${compareFrameId}"] [data-testid="card-variants"]`);
    await page.waitForSelector(`[data-testid="compare-variant"][data-render-id="${renders[1].id}"][data-keyframe="true"]`);
    await page.keyboard.press('Escape');
    await page.context().close();
  });

  it('shows the first-run checklist, not "Select a film on the left", in a project without films', async () => {
    const emptyDir = join(dir, 'empty');
    createProject(emptyDir).close();
    const empty = await startServer({ projectDir: emptyDir, port: 0, rendererDir });
    try {
      const page = await newPage();
      await page.goto(empty.url);
      await page.waitForSelector('[data-app-state="loaded"]');
      await page.waitForSelector('[data-testid="checklist"]');
      expect(await page.locator('[data-testid="checklist-step"]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-step'), e.getAttribute('data-done')])))
        .toEqual([['theme', 'false'], ['style', 'false'], ['render', 'false'], ['review', 'false'], ['export', 'false']]);
      expect(await page.textContent('body')).not.toContain('Select a film on the left');
      // The first step opens the plot dialog (a film from a theme).
      await page.click('[data-testid="checklist-theme"]');
      await page.waitForSelector('[role="dialog"]');
      await page.context().close();
    } finally {
      await empty.close();
    }
  });
});
