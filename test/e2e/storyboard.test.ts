import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilmDocument } from '../../src/shared/film-document';
import type { FilmSummary, Storyboard } from '../../src/shared/api/entities';
import { createProjectWithSample } from '../../src/main/app/context';
import { importStoryJsFile } from '../../src/main/import/story-js';
import { dispatch } from '../../src/main/api/dispatch';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { launchChromium } from '../support/chromium';
import { dreamframeFixtureDir, repoRoot } from '../support/paths';

/**
 * The storyboard in serve mode, end to end: real project database, real server, built renderer,
 * Debian's Chromium driven by playwright-core. Expected values come from resources/sample/film.json
 * and from the story_js fixture, not from the UI under test.
 */

const rendererDir = resolve(repoRoot, 'out/renderer');
const screenshotDir = resolve(repoRoot, 'test-results/screenshots');
const storyJsPath = join(dreamframeFixtureDir, 'story_info_0.json');

const sample = FilmDocument.parse(JSON.parse(readFileSync(resolve(repoRoot, 'resources/sample/film.json'), 'utf8')));
const sampleSubs = sample.chapters.flatMap((c) => c.subchapters);
const sampleFrames = sampleSubs.flatMap((s) => s.items.filter((i) => i.type === 'frame'));
/** Ordinal of the first frame of each subchapter / chapter, from the document's own structure. */
const subStarts: number[] = [];
const chapterStarts: number[] = [];
{
  let n = 0;
  for (const chapter of sample.chapters) {
    chapterStarts.push(n);
    for (const sub of chapter.subchapters) {
      subStarts.push(n);
      n += sub.items.filter((i) => i.type === 'frame').length;
    }
  }
}
/** The dialogue texts that follow each frame (until the next frame), in story order. */
const linesAfterFrame: string[][] = sampleSubs.flatMap((sub) => {
  const out: string[][] = [];
  for (const item of sub.items) {
    if (item.type === 'frame') out.push([]);
    else if (out.length) out[out.length - 1].push(item.text);
  }
  return out;
});

const storyJs = JSON.parse(readFileSync(storyJsPath, 'utf8')) as { img_diag: [string, string][] };
const storyJsFrameCount = storyJs.img_diag.filter(([kind]) => kind === 'frame').length;


let projectDir = '';
let server: RunningServer;
let browser: Browser;
let sampleFilmId = 0;
let bigFilmId = 0;

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('[page error]', err.message));
  return { context, page };
}

async function focusedCard(page: Page): Promise<{ ordinal: number; description: string; isActive: boolean }> {
  const card = page.locator('[data-testid="frame-card"][data-focused="true"]');
  await card.waitFor({ state: 'visible' });
  return card.evaluate((el) => ({
    ordinal: Number(el.getAttribute('data-ordinal')),
    description: el.querySelector('[data-testid="frame-description"]')?.textContent ?? '',
    isActive: document.activeElement === el,
  }));
}

async function expectFocus(page: Page, ordinal: number, description?: string): Promise<void> {
  await page.waitForSelector(`[data-testid="frame-card"][data-focused="true"][data-ordinal="${ordinal}"]`);
  const card = await focusedCard(page);
  expect(card.ordinal).toBe(ordinal);
  if (description !== undefined) expect(card.description).toBe(description);
  await expect.poll(async () => (await focusedCard(page)).isActive).toBe(true);
}

/** The card lies inside the scroll viewport, not just in the DOM. */
async function isInViewport(page: Page, ordinal: number): Promise<boolean> {
  return page.evaluate((n) => {
    const card = document.querySelector(`[data-testid="frame-card"][data-ordinal="${n}"]`);
    const scroller = document.querySelector('[data-testid="storyboard-scroll"]');
    if (!card || !scroller) return false;
    const c = card.getBoundingClientRect();
    const s = scroller.getBoundingClientRect();
    if (!(c.top >= s.top - 1 && c.bottom <= s.bottom + 1 && c.height > 0)) return false;
    // Nothing drawn over its top and bottom edges (fixed bars, overlays).
    const x = c.left + c.width / 2;
    return [c.top + 3, c.bottom - 3].every((y) => card.contains(document.elementFromPoint(x, y)));
  }, ordinal);
}

async function openFilm(page: Page, filmId: number): Promise<void> {
  await page.click(`[data-testid="film-item"][data-film-id="${filmId}"]`);
  await page.waitForSelector(`[data-testid="storyboard"][data-film-id="${filmId}"] [data-testid="frame-card"]`);
}

beforeAll(async () => {
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`The renderer is not built: ${rendererDir}/index.html is missing. Run "npm run build" before the e2e tests.`);
  }
  mkdirSync(screenshotDir, { recursive: true });
  projectDir = join(mkdtempSync(join(tmpdir(), 'dreamframe-e2e-')), 'project');
  const project = createProjectWithSample(projectDir, true);
  try {
    importStoryJsFile(project, storyJsPath);
  } finally {
    project.close();
  }
  server = await startServer({ projectDir, port: 0, rendererDir });
  const films = (await dispatch(server.context, 'films.list', {})) as { ok: true; result: FilmSummary[] };
  sampleFilmId = films.result.find((f) => f.source === 'sample')!.id;
  bigFilmId = films.result.find((f) => f.source === 'story_js')!.id;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (projectDir) rmSync(resolve(projectDir, '..'), { recursive: true, force: true });
});

describe('storyboard in serve mode', () => {
  it('shows the sample film and moves between frames, subchapters and chapters with the keyboard', async () => {
    const { context, page } = await newPage();
    await page.goto(server.url);
    await page.waitForSelector('[data-app-state="loaded"]');
    // The token leaves the address bar once it is kept for the tab.
    expect(page.url()).not.toContain('token=');

    await openFilm(page, sampleFilmId);
    await expect.poll(() => page.locator('[data-testid="film-item"]').count()).toBe(2);
    await expect(page.textContent('[data-testid="film-title"]')).resolves.toBe(sample.title);
    // Characters with their lookalikes, film QA led by the overview question.
    const lookalikes = await page.locator('[data-testid="lookalike"]').allTextContents();
    expect(lookalikes).toEqual(sample.characters.map((c) => c.lookalike));
    expect(await page.locator('[data-testid="qa-film"] dt').first().textContent()).toContain(sample.qa[0].question);

    // Walk every frame with `j`: each focused card shows the document's frame, the dialogue that
    // follows it, and the "Not rendered yet" label (a fresh project has no renders).
    await page.locator('[data-testid="frame-card"]').first().click();
    const chapterHeadersSeen = new Set<string>();
    const subchapterLinesSeen = new Map<string, string[]>();
    for (let i = 0; i < sampleFrames.length; i++) {
      if (i > 0) await page.keyboard.press('j');
      await expectFocus(page, i, sampleFrames[i].description);
      const card = page.locator('[data-testid="frame-card"][data-focused="true"]');
      expect(await card.locator('.line-text').allTextContents()).toEqual(linesAfterFrame[i]);
      expect(await card.locator('[data-testid="not-rendered"]').isVisible()).toBe(true);
      // The thumbnail came through /media/thumb/<key>?token=… (a decoded image, not a broken one).
      await expect.poll(() => card.locator('.thumb img').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
      for (const id of await page.locator('[data-testid="chapter-header"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-chapter-id') ?? ''))) {
        chapterHeadersSeen.add(id);
      }
      const headers = await page.locator('[data-testid="subchapter-header"]').evaluateAll((els) => els.map((e) => ({
        title: e.querySelector('h3')?.textContent ?? '',
        lines: [...e.querySelectorAll('.line-text')].map((l) => l.textContent ?? ''),
      })));
      for (const h of headers) subchapterLinesSeen.set(h.title, h.lines);
    }
    expect(chapterHeadersSeen.size).toBe(sample.chapters.length);
    // Lines spoken before a subchapter's first frame sit in that subchapter's header.
    for (const sub of sampleSubs) {
      const firstFrame = sub.items.findIndex((i) => i.type === 'frame');
      const leading = sub.items.slice(0, firstFrame).map((i) => (i as { text: string }).text);
      expect(subchapterLinesSeen.get(sub.title), sub.title).toEqual(leading);
    }

    await page.keyboard.press('Home');
    await expectFocus(page, 0, sampleFrames[0].description);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('j');
    await expectFocus(page, 2, sampleFrames[2].description);
    await page.keyboard.press('k');
    await expectFocus(page, 1, sampleFrames[1].description);
    await page.keyboard.press(']');
    await expectFocus(page, subStarts[1], sampleFrames[subStarts[1]].description);
    await page.keyboard.press('PageDown');
    await expectFocus(page, chapterStarts[1], sampleFrames[chapterStarts[1]].description);
    await page.keyboard.press('PageDown');
    await expectFocus(page, chapterStarts[2]);
    await page.keyboard.press('[');
    await expectFocus(page, subStarts[3]);
    await page.keyboard.press('End');
    await expectFocus(page, sampleFrames.length - 1, sampleFrames[sampleFrames.length - 1].description);
    await page.keyboard.press('PageUp');
    await expectFocus(page, chapterStarts[2]);
    await page.keyboard.press('Home');
    await expectFocus(page, 0);
    await page.keyboard.press('ArrowRight');
    await expectFocus(page, 1);

    // Approve with `a`; the state survives a reload, so it went through the server's database. With
    // auto-advance (on by default, docs/ui.md) the next frame takes the focus after `a` and `r`.
    const card = (ordinal: number) => page.locator(`[data-testid="frame-card"][data-ordinal="${ordinal}"]`);
    await page.keyboard.press('a');
    await expectFocus(page, 2);
    await expect.poll(() => card(1).locator('[data-testid="review-badge"]').getAttribute('data-state')).toBe('approved');
    await page.keyboard.press('r');
    await expectFocus(page, 3);
    await expect.poll(() => card(2).locator('[data-testid="review-badge"]').getAttribute('data-state')).toBe('rejected');
    await page.keyboard.press('ArrowUp');
    await expectFocus(page, 2);
    const focused = page.locator('[data-testid="frame-card"][data-focused="true"]');

    // Enter opens the detail panel for the focused frame.
    await page.keyboard.press('Enter');
    const detail = page.locator('[data-testid="frame-detail"]');
    await detail.waitFor();
    expect(await detail.locator('.detail-description').textContent()).toBe(sampleFrames[2].description);
    await expect.poll(() => detail.locator('[data-testid="detail-image"]').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await page.screenshot({ path: join(screenshotDir, 'sample-film-detail.png') });

    // `e` edits the description in place; Ctrl+Enter saves it to the database, Ctrl+Z undoes it and
    // the UI follows the server's data.changed event.
    const original = sampleFrames[2].description;
    const edited = original.replace(/,[^,]*\.$/, ', with a startled gasp.');
    expect(edited).not.toBe(original);
    await page.keyboard.press('e');
    const editor = detail.locator('[data-testid="description-editor"]');
    await editor.waitFor();
    await editor.fill(edited);
    await editor.press('Control+Enter');
    const focusedDescription = () => focused.locator('[data-testid="frame-description"]').textContent();
    await expect.poll(focusedDescription).toBe(edited);
    const stored = (await dispatch(server.context, 'films.storyboard', { filmId: sampleFilmId })) as { ok: true; result: Storyboard };
    expect(stored.result.frames.map((f) => f.description)).toContain(edited);
    await page.keyboard.press('Control+z');
    await expect.poll(focusedDescription).toBe(original);
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached' });

    await page.keyboard.press('?');
    await page.locator('[data-testid="help-overlay"]').waitFor();
    expect(await page.locator('[data-testid="help-overlay"]').textContent()).toContain('Next subchapter');
    await page.screenshot({ path: join(screenshotDir, 'help-overlay.png') });
    // The help is generated from the one keymap: every scope, the curation keys included. While it is
    // open it takes the keys: the storyboard behind it does not move.
    const help = page.locator('[data-testid="help-overlay"]');
    for (const scope of ['global', 'storyboard', 'dock', 'viewer', 'dialog']) await help.locator(`[data-scope="${scope}"]`).waitFor();
    expect(await help.textContent()).toContain('Show / hide the curation panel');
    const focusedOrdinal = () => page.getAttribute('[data-testid="frame-card"][data-focused="true"]', 'data-ordinal');
    const ordinalUnderHelp = await focusedOrdinal();
    await page.keyboard.press('j');
    expect(await focusedOrdinal()).toBe(ordinalUnderHelp);
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="help-overlay"]').waitFor({ state: 'detached' });

    // Keys tab: a key that another action answers where this one acts is refused with the reason;
    // a free key is taken and kept across the reload below.
    await page.keyboard.press('c');
    await page.click('[data-testid="tab-keys"]');
    await page.click('[data-testid="bind-openViewer"]');
    await page.keyboard.press('j');
    expect(await page.textContent('[data-testid="keymap-error"]')).toContain('Next frame');
    expect((await page.textContent('[data-testid="bind-openViewer"]'))!.trim()).toBe('v');
    await page.click('[data-testid="bind-openViewer"]');
    await page.keyboard.press('Shift+V');
    expect((await page.textContent('[data-testid="bind-openViewer"]'))!.trim()).toBe('Shift+V');
    await page.click('[data-testid="close-curation"]');

    await page.reload();
    await page.waitForSelector('[data-app-state="loaded"]');
    await page.waitForSelector(`[data-testid="storyboard"][data-film-id="${sampleFilmId}"] [data-testid="frame-card"]`);
    const states = await page.locator('[data-testid="frame-card"] [data-testid="review-badge"]').evaluateAll((els) =>
      els.slice(0, 4).map((e) => e.getAttribute('data-state')));
    expect(states).toEqual(['draft', 'approved', 'rejected', 'draft']);
    await page.keyboard.press('c');
    await page.click('[data-testid="tab-keys"]');
    expect((await page.textContent('[data-testid="bind-openViewer"]'))!.trim()).toBe('Shift+V');
    await page.click('[data-testid="keymap-reset"]');
    expect((await page.textContent('[data-testid="bind-openViewer"]'))!.trim()).toBe('v');
    await page.click('[data-testid="close-curation"]');
    await page.screenshot({ path: join(screenshotDir, 'sample-film.png') });
    await context.close();
  });

  it(`reaches the last of the imported film's ${storyJsFrameCount} frames with End while the DOM stays small`, async () => {
    const { context, page } = await newPage();
    await page.goto(server.url);
    await page.waitForSelector('[data-app-state="loaded"]');
    await openFilm(page, bigFilmId);
    const board = ((await dispatch(server.context, 'films.storyboard', { filmId: bigFilmId })) as { ok: true; result: Storyboard }).result;
    expect(board.frames).toHaveLength(storyJsFrameCount);
    const counts = await page.locator(`[data-testid="film-item"][data-film-id="${bigFilmId}"] [data-testid="film-counts"]`).textContent();
    expect(counts).toContain(`${storyJsFrameCount} frames`);

    await page.locator('[data-testid="frame-card"]').first().click();
    await expectFocus(page, 0);
    await page.keyboard.press('End');
    const last = storyJsFrameCount - 1;
    await expectFocus(page, last);
    // The last frame in story order: the last subchapter's last frame by position.
    const lastSub = board.subchapters.filter((s) => s.chapterId === board.chapters.at(-1)!.id).at(-1)!;
    const expectedLast = board.frames.filter((f) => f.subchapterId === lastSub.id).sort((a, b) => a.position - b.position).at(-1)!;
    expect((await focusedCard(page)).description).toBe(expectedLast.description);
    await expect.poll(() => isInViewport(page, last)).toBe(true);
    const cardsInDom = await page.locator('[data-testid="frame-card"]').count();
    expect(cardsInDom).toBeGreaterThan(0);
    expect(cardsInDom).toBeLessThan(100);
    await page.screenshot({ path: join(screenshotDir, 'big-film-end.png') });

    await page.keyboard.press('Home');
    await expectFocus(page, 0);
    await expect.poll(() => isInViewport(page, 0)).toBe(true);
    expect(await page.locator('[data-testid="frame-card"]').count()).toBeLessThan(100);
    await context.close();
  });

  it('shows an error state for a wrong or a missing token', async () => {
    const { context, page } = await newPage();
    await page.goto(`http://127.0.0.1:${server.port}/?token=not-the-token`);
    await page.waitForSelector('[data-app-state="error"]');
    expect(await page.textContent('[data-testid="app-error"]')).toContain('token');
    expect(await page.locator('[data-testid="frame-card"]').count()).toBe(0);
    await page.screenshot({ path: join(screenshotDir, 'wrong-token.png') });

    const fresh = await context.newPage();
    await fresh.goto(`http://127.0.0.1:${server.port}/`);
    await fresh.waitForSelector('[data-app-state="error"]');
    expect(await fresh.textContent('[data-testid="app-error"]')).toContain('No access token');
    await context.close();
  });
});
