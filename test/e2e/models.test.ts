import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { listLibrary } from '../../src/main/models/library';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { launchChromium } from '../support/chromium';
import { repoRoot, tinySd15Dir } from '../support/paths';

/**
 * Issue 12 §5 in the UI (serve mode, built renderer, system Chromium): import the tiny SD 1.5 single-file
 * checkpoint from the Models panel, watch it appear with its facts, pick it in the film's render settings,
 * and remove it again. What is checked comes from the library folder itself, not only from the page.
 */

const rendererDir = resolve(repoRoot, 'out/renderer');
const screenshotDir = resolve(repoRoot, 'test-results/screenshots');
const checkpoints = join(tinySd15Dir, 'checkpoints');

let workDir = '';
let library = '';
let savedModels: string | undefined;
let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`The renderer is not built: ${rendererDir}/index.html is missing. Run "npm run build" before the e2e tests.`);
  }
  mkdirSync(screenshotDir, { recursive: true });
  workDir = mkdtempSync(join(tmpdir(), 'dreamframe-e2e-models-'));
  library = join(workDir, 'models');
  savedModels = process.env.DREAMFRAME_MODELS;
  process.env.DREAMFRAME_MODELS = library;
  const projectDir = join(workDir, 'project');
  createProjectWithSample(projectDir, true).close();
  server = await startServer({ projectDir, port: 0, rendererDir });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (savedModels === undefined) delete process.env.DREAMFRAME_MODELS;
  else process.env.DREAMFRAME_MODELS = savedModels;
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the Models panel', () => {
  it('imports a checkpoint with progress, lists it, offers it in the render settings, and removes it', async () => {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await page.goto(server.url);
      await page.waitForSelector('[data-app-state="loaded"]');
      await page.click('[data-testid="models-button"]');
      await page.waitForSelector('[data-testid="models-empty"]');
      expect(await page.textContent('[data-testid="models-dir"]')).toBe(library);

      await page.fill('[data-testid="model-import-source"]', join(checkpoints, 'tiny-sd15.safetensors'));
      await page.click('text=Show options for non-standard models');
      await page.fill('[data-testid="model-import-form"] input[placeholder="optional"] >> nth=0', join(checkpoints, 'config'));
      await page.click('[data-testid="model-import-start"]');
      const row = page.locator('[data-testid="model-row-tiny-sd15"]');
      await row.waitFor({ timeout: 60_000 });
      expect((await row.textContent())?.replace(/\s+/g, ' ')).toMatch(/tiny-sd15\.safetensors\s*sd1\s*64×64\s*float32/);
      expect(listLibrary(library).models.map((m) => m.id)).toEqual(['tiny-sd15']);
      await page.screenshot({ path: join(screenshotDir, 'models-panel.png') });
      await page.keyboard.press('Escape');

      // The film's render settings offer the library model by name.
      await page.keyboard.press('c');
      await page.click('[data-testid="tab-render"]');
      const options = await page.locator('[data-testid="setting-model"] option').allTextContents();
      expect(options.some((o) => o.startsWith('tiny-sd15.safetensors · sd1 · 64×64'))).toBe(true);
      await page.selectOption('[data-testid="setting-model"]', { value: join(library, 'tiny-sd15') });
      await page.click('[data-testid="save-settings"]');

      await page.click('[data-testid="models-button"]');
      await page.click('[data-testid="model-remove-tiny-sd15"]');
      await page.click('[data-testid="model-remove-confirm-tiny-sd15"]');
      await page.waitForSelector('[data-testid="models-empty"]');
      expect(listLibrary(library).models).toEqual([]);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: join(screenshotDir, 'models-failure.png') }).catch(() => undefined);
      throw err;
    }
  }, 120_000);
});
