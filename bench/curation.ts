/**
 * Curation measurements (printed, never asserted) on the release's 1,331-frame film:
 * - UI: a bulk approve of all 1,331 frames in Chromium against serve mode, from the click on
 *   "Approve" until the storyboard shows 1,331 approved frames (select all → approve → event → patch);
 * - its parts over the WebSocket API: review.set with 1,331 items, the patch fetch the UI does on that
 *   data.changed (films.storyboardItems with the 1,331 frame ids) next to a whole-storyboard refetch (what
 *   events without ids still cause), the undo of that edit; and review.set straight on the database, for the ratio;
 * - UI review flow: pressing `a` with auto-advance on, until the next frame is shown (focused) and until the
 *   approval is saved (the server's data.changed for that frame), one press at a time (BENCH_PRESSES, default 40).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from '../test/support/chromium';
import { createProject, openProject } from '../src/main/project/project';
import { importStoryJsFile } from '../src/main/import/story-js';
import { setReview, undo } from '../src/main/story/edits';
import { getStoryboard } from '../src/main/story/film-reader';
import { startServer } from '../src/main/transports/server';
import { TestWsClient } from '../test/support/ws-client';

const shared = process.env.DREAMFRAME_SHARED ?? resolve(import.meta.dirname, '../../shared');
const fixture = resolve(shared, 'fixtures/dreamframe/story_info_0.json');
const rendererDir = resolve(import.meta.dirname, '../out/renderer');
const runs = Number(process.env.BENCH_RUNS ?? 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

/** How many of these frames the database has approved (read-only, beside the server's connection). */
function approvedCount(projectDir: string, filmId: number, frameIds: number[]): number {
  const p = openProject(projectDir);
  try {
    const ids = new Set(frameIds);
    return getStoryboard(p.db, filmId).frames.filter((f) => ids.has(f.id) && f.review.state === 'approved').length;
  } finally {
    p.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'dreamframe-bench-curation-'));
try {
  const p = createProject(join(dir, 'p'));
  const { filmId } = importStoryJsFile(p, fixture);
  const frames = getStoryboard(p.db, filmId).frames.map((f) => ({ type: 'frame' as const, id: f.id }));
  console.log(`film: ${frames.length} frames`);

  // Direct: the service alone.
  const direct: number[] = [];
  const directUndo: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    setReview(p.db, frames, 'approved', null);
    direct.push(performance.now() - t);
    t = performance.now();
    undo(p.db, filmId);
    directUndo.push(performance.now() - t);
  }
  p.close();

  const server = await startServer({ projectDir: join(dir, 'p'), port: 0, rendererDir });
  const ws = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
  const api: number[] = [];
  const refetch: number[] = [];
  const patch: number[] = [];
  const apiUndo: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await ws.call('review.set', { items: frames, state: 'approved' });
    api.push(performance.now() - t);
    t = performance.now();
    await ws.call('films.storyboardItems', { filmId, frames: frames.map((f) => f.id) });
    patch.push(performance.now() - t);
    t = performance.now();
    await ws.call('films.storyboard', { filmId });
    refetch.push(performance.now() - t);
    t = performance.now();
    await ws.call('edits.undo', { filmId });
    apiUndo.push(performance.now() - t);
  }
  ws.close();
  console.log(`review.set approve ×${frames.length}, direct:          median ${fmt(median(direct))} (undo ${fmt(median(directUndo))})`);
  console.log(`review.set approve ×${frames.length}, WebSocket API:   median ${fmt(median(api))} (undo ${fmt(median(apiUndo))})`);
  console.log(`films.storyboardItems patch fetch (${frames.length} frames): median ${fmt(median(patch))}`);
  console.log(`films.storyboard whole refetch:            median ${fmt(median(refetch))} (patch / whole ${(median(patch) / median(refetch)).toFixed(2)}×)`);
  console.log(`API / direct ratio: ${(median(api) / median(direct)).toFixed(2)}×`);

  if (!existsSync(join(rendererDir, 'index.html')) || !existsSync('/usr/bin/chromium')) {
    console.log('UI measurement skipped: needs out/renderer (npm run build) and /usr/bin/chromium');
  } else {
    const browser = await launchChromium();
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await page.goto(server.url);
    await page.click(`[data-testid="film-item"][data-film-id="${filmId}"]`);
    await page.waitForSelector('[data-testid="frame-card"]');
    await page.click('[data-testid="curate-button"]');
    await page.selectOption('[data-testid="curation-type"]', 'frame');
    const ui: number[] = [];
    for (let i = 0; i < runs; i++) {
      await page.selectOption('[data-testid="curation-filter"]', 'draft');
      await page.waitForFunction((n) => (globalThis as any).document.querySelector('[data-testid="curation-total"]')?.textContent?.startsWith(`${n} `), frames.length);
      await page.click('[data-testid="select-all-shown"]');
      // Frames only, as before bulk approve could take the lines and QA along.
      await page.uncheck('[data-testid="approve-with-lines"]');
      await page.waitForFunction((n) => (globalThis as any).document.querySelector('[data-testid="selection-count"]')?.textContent === String(n), frames.length);
      const t = performance.now();
      await page.click('[data-testid="bulk-approve"]');
      // Done when the storyboard's toolbar counts every frame as approved and the draft list is empty.
      await page.waitForFunction((n) => {
        // Runs in the page (bench/ is compiled without the DOM types).
        const doc = (globalThis as any).document;
        const stat: string = doc.querySelector('.review-stat')?.textContent ?? '';
        return stat.trim().startsWith(String(n)) && doc.querySelector('[data-testid="curation-total"]')?.textContent?.startsWith('0 ');
      }, frames.length, { polling: 'raf', timeout: 60_000 });
      ui.push(performance.now() - t);
      const again = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
      await again.call('edits.undo', { filmId });
      again.close();
    }
    console.log(`UI bulk approve of ${frames.length} frames (click → storyboard shows all approved): median ${fmt(median(ui))} over ${runs} runs [${ui.map((x) => x.toFixed(0)).join(', ')}]`);

    // Review flow: `a` on the focused frame with auto-advance on (the default). "Shown": the next card holds the
    // focus; "saved": the server announced the approval (data.changed after the commit). One keypress at a time.
    await page.click('[data-testid="curate-button"]');
    const presses = Number(process.env.BENCH_PRESSES ?? 40);
    const start = 600;
    const listen = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    await page.evaluate(() => (globalThis as any).localStorage.setItem('dreamframe.review.autoAdvance', '1'));
    await page.reload();
    await page.waitForSelector('[data-testid="frame-card"]');
    // To a frame in the middle of the film with the storyboard's own keys.
    await page.locator('[data-testid="frame-card"]').first().click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Home');
    for (let i = 0; i < start; i++) await page.keyboard.press('j');
    await page.waitForSelector(`[data-testid="frame-card"][data-ordinal="${start}"][data-focused="true"]`);
    const shown: number[] = [];
    const saved: number[] = [];
    const ids = frames.map((f) => f.id);
    for (let k = start; k < start + presses; k++) {
      const from = listen.events.length;
      const t = performance.now();
      await page.keyboard.press('a');
      await page.waitForSelector(`[data-testid="frame-card"][data-ordinal="${k + 1}"][data-focused="true"]`, { timeout: 10_000 });
      shown.push(performance.now() - t);
      await listen.waitForEvent((e) => e.event === 'data.changed' && listen.events.indexOf(e) >= from
        && e.payload.entities.some((x: any) => x.type === 'frame' && x.ids.includes(ids[k])), 10_000);
      saved.push(performance.now() - t);
    }
    listen.close();
    // The same wait for a plain move (`j`), for the ratio: what the approval adds to showing the next frame.
    const moved: number[] = [];
    for (let k = start + presses; k < start + 2 * presses; k++) {
      const t = performance.now();
      await page.keyboard.press('j');
      await page.waitForSelector(`[data-testid="frame-card"][data-ordinal="${k + 1}"][data-focused="true"]`, { timeout: 10_000 });
      moved.push(performance.now() - t);
    }
    console.log(`UI 'j' (move only), ${presses} presses: next frame shown median ${fmt(median(moved))}; 'a' / 'j' ${(median(shown) / median(moved)).toFixed(2)}×`);
    const approved = approvedCount(join(dir, 'p'), filmId, ids.slice(start, start + presses));
    console.log(`UI 'a' with auto-advance, ${presses} presses from frame ${start + 1} of ${frames.length}: next frame shown median ${fmt(median(shown))} ` +
      `(max ${fmt(Math.max(...shown))}), approval saved median ${fmt(median(saved))} (max ${fmt(Math.max(...saved))}); ${approved}/${presses} approved in the database`);
    await browser.close();
  }
  await server.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
