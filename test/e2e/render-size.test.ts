import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { getRenderSettings, setRenderSettings } from '../../src/main/render/settings';
import { openProject } from '../../src/main/project/project';
import { listFilms } from '../../src/main/story/film-reader';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { launchChromium } from '../support/chromium';
import { repoRoot, tinySd15Dir } from '../support/paths';

/** The Render tab shows where the render size comes from: the model's native size until the film sets one. */

const rendererDir = resolve(repoRoot, 'out/renderer');
let workDir = '';
let projectDir = '';
let filmId = 0;
let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`The renderer is not built: ${rendererDir}/index.html is missing. Run "npm run build" before the e2e tests.`);
  }
  workDir = mkdtempSync(join(tmpdir(), 'dreamframe-e2e-size-'));
  projectDir = join(workDir, 'project');
  const p = createProjectWithSample(projectDir, true);
  filmId = listFilms(p.db)[0].id;
  setRenderSettings(p.db, filmId, { model: join(tinySd15Dir, 'pipeline') });
  p.close();
  server = await startServer({ projectDir, port: 0, rendererDir });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function storedSize(): { width: number | null; height: number | null } {
  const p = openProject(projectDir);
  try {
    const { width, height } = getRenderSettings(p.db, filmId);
    return { width, height };
  } finally {
    p.close();
  }
}

describe('render size in the Render tab', () => {
  it('says the size is the model default (64×64), then a film setting once typed, and follows the model again when cleared', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await page.goto(server.url);
    await page.waitForSelector('[data-app-state="loaded"]');
    await page.click(`[data-testid="film-item"][data-film-id="${filmId}"]`);
    const card = page.locator('[data-testid="frame-card"][data-ordinal="0"]');
    await card.click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('c');
    await page.click('[data-testid="tab-render"]');
    const note = page.locator('[data-testid="setting-size-source"]');
    await expect.poll(() => note.textContent()).toBe(
      "Width 64 (model default), height 64 (model default); the model's native size is 64×64. Leave a field empty to follow the model.");
    expect(await page.inputValue('[data-testid="setting-width"]')).toBe('');
    expect(await page.getAttribute('[data-testid="setting-width"]', 'placeholder')).toBe('64 (model)');

    await page.fill('[data-testid="setting-width"]', '32');
    await page.click('[data-testid="save-settings"]');
    await expect.poll(() => note.textContent()).toMatch(/^Width 32 \(film setting\), height 64 \(model default\);/);
    expect(storedSize()).toEqual({ width: 32, height: null });

    await page.fill('[data-testid="setting-width"]', '');
    await page.click('[data-testid="save-settings"]');
    await expect.poll(() => note.textContent()).toMatch(/^Width 64 \(model default\)/);
    expect(storedSize()).toEqual({ width: null, height: null });
  }, 120_000);
});
