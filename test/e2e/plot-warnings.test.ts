import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlotTree } from '../../src/shared/api/methods-plot';
import { dispatch } from '../../src/main/api/dispatch';
import { createProject } from '../../src/main/project/project';
import { writeProjectProvider } from '../../src/main/plot/settings';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { looseScript, startFakeOpenAI, type FakeServer } from '../plot/fake-openai';
import { launchChromium } from '../support/chromium';
import { repoRoot } from '../support/paths';

/**
 * Issue 13 §2 in the UI: a film planned from a loosely written answer shows what was repaired on its
 * node in the generation tree (serve mode, built renderer, system Chromium, the scripted LLM server).
 */

const rendererDir = resolve(repoRoot, 'out/renderer');
// The dialog's default breadth; the scripted server answers with these counts.
const B = { chapters: 11, subchapters: 11, frames: 11, dialogueLines: 6, qaPairs: 2 };

let llm: FakeServer;
let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`The renderer is not built: ${rendererDir}/index.html is missing. Run "npm run build" before the e2e tests.`);
  }
  process.env.DREAMFRAME_CONFIG_DIR = mkdtempSync(join(tmpdir(), 'dreamframe-e2e-config-'));
  llm = await startFakeOpenAI(looseScript(B));
  const projectDir = join(mkdtempSync(join(tmpdir(), 'dreamframe-e2e-')), 'project');
  const project = createProject(projectDir);
  writeProjectProvider(project.db, { baseUrl: llm.baseUrl, model: 'fake-small', retryBaseMs: 5 });
  project.close();
  server = await startServer({ projectDir, port: 0, rendererDir });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await llm?.close();
});

describe('plot generation tree', () => {
  it('marks a node whose answer was repaired and lists the repairs in its details', async () => {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(server.url);
    await page.click('[data-testid="plot-button"]');
    await page.fill('[data-testid="plot-theme"]', 'a lantern keeper');
    await page.selectOption('[data-testid="plot-dialog"] select', { value: '1' });
    await page.click('[data-testid="plot-create"]');
    const filmNode = page.locator('[data-testid="plot-tree"] .plot-node.plot-done');
    await filmNode.waitFor();
    expect(await filmNode.getAttribute('class')).toContain('plot-warned');
    expect(await filmNode.getAttribute('title')).toMatch(/^\d+ repair\(s\): .*styleDescription: had no \{Dramatic\}/);
    await filmNode.click();
    const items = page.locator('[data-testid="plot-node-warnings"] li');
    await items.first().waitFor();
    const shown = await items.allTextContents();
    // What the API stored for the node is exactly what the curator sees.
    const films = (await dispatch(server.context, 'films.list', {})) as { ok: true; result: { id: number }[] };
    const tree = (await dispatch(server.context, 'plot.tree', { filmId: films.result[0].id })) as { ok: true; result: PlotTree };
    expect(shown).toEqual(tree.result.nodes.find((n) => n.key === 'film')!.warnings);
    expect(shown).toEqual(expect.arrayContaining([expect.stringMatching(/more than two words.*"path leading from the city gates"/)]));
    // The new film is open in the storyboard behind the dialog, and in the address (#17 defect 8).
    await page.locator(`[data-testid="storyboard"][data-film-id="${films.result[0].id}"]`).waitFor({ state: 'attached' });
    expect(new URL(page.url()).hash).toBe(`#film=${films.result[0].id}`);
    // A chapter node not generated yet has no repairs and no mark.
    expect(await page.locator('[data-testid="plot-tree"] .plot-node.plot-pending').first().getAttribute('class')).not.toContain('plot-warned');
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
