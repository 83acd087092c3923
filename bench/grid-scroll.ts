/**
 * Storyboard scroll smoothness (printed, never asserted), in Chromium against serve mode, on a project with
 * ten copies of the release film (1,331 frames each) and one of them open: the grid scrolled from its first to
 * its last frame at a steady speed (every animation frame moves the scroll position by the same step), at the
 * default zoom and at the smallest one (most cards on screen), and the list scrolled the same way for the ratio.
 * Reported: animation frames drawn per second of scrolling, and dropped frames — intervals between
 * requestAnimationFrame callbacks longer than 1.5 × the display's frame time count as (interval / frame time − 1)
 * dropped frames.
 *
 * Also: the storyboard filters' server part (`curation.frameFilters`: text search in any word order across
 * descriptions, lines and QA, plus failed renders) on one 1,331-frame film, direct and over the WebSocket API.
 *
 * Needs the built renderer (npx electron-vite build) and /usr/bin/chromium.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from '../test/support/chromium';
import { createProject } from '../src/main/project/project';
import { importStoryJsFile } from '../src/main/import/story-js';
import { startServer } from '../src/main/transports/server';
import { framesMatching } from '../src/main/curation/frame-filters';
import { framesWithFailedRender } from '../src/main/curation/repo';
import { TestWsClient } from '../test/support/ws-client';

const shared = process.env.DREAMFRAME_SHARED ?? resolve(import.meta.dirname, '../../shared');
const fixture = resolve(shared, 'fixtures/dreamframe/story_info_0.json');
const rendererDir = resolve(import.meta.dirname, '../out/renderer');
const FILMS = 10;
/** Seconds one scroll from top to bottom takes. */
const SECONDS = Number(process.env.BENCH_SCROLL_SECONDS ?? 8);

interface ScrollResult { frames: number; seconds: number; dropped: number; frameMs: number; longestMs: number; distance: number }

if (!existsSync(join(rendererDir, 'index.html')) || !existsSync('/usr/bin/chromium')) {
  console.log('grid scroll bench skipped: needs out/renderer (npx electron-vite build) and /usr/bin/chromium');
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'dreamframe-bench-grid-'));
try {
  const p = createProject(join(dir, 'p'));
  let filmId = 0;
  // Ten copies of one story: imported as new films each time (a repeat import is refused otherwise).
  for (let i = 0; i < FILMS; i++) filmId = importStoryJsFile(p, fixture, { asNew: true }).filmId;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const timeIt = async (n: number, fn: () => unknown) => {
    const t: number[] = [];
    for (let i = 0; i < n; i++) {
      const s0 = performance.now();
      await fn();
      t.push(performance.now() - s0);
    }
    return median(t);
  };
  const query = "shop blacksmith's hammer";
  const direct = await timeIt(20, () => { framesMatching(p.db, filmId, query); framesWithFailedRender(p.db, filmId); });
  console.log(`curation.frameFilters "${query}" (${framesMatching(p.db, filmId, query).length} frames), direct: median ${direct.toFixed(1)} ms`);
  p.close();
  const server = await startServer({ projectDir: join(dir, 'p'), port: 0, rendererDir });
  const ws = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
  const overApi = await timeIt(20, () => ws.call('curation.frameFilters', { filmId, query }));
  ws.close();
  console.log(`curation.frameFilters over the WebSocket API: median ${overApi.toFixed(1)} ms`);
  const browser = await launchChromium();
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await page.goto(`${server.url}#film=${filmId}`);
  await page.waitForSelector(`[data-testid="storyboard"][data-film-id="${filmId}"] [data-testid="frame-card"]`);
  console.log(`project: ${FILMS} films of 1,331 frames, film ${filmId} open; scroll ${SECONDS} s top → bottom`);

  /**
   * Scrolls `selector` from top to bottom in SECONDS at a steady speed, timing every animation frame. Plain
   * JavaScript in a string: tsx would wrap named functions in a helper the page does not have.
   */
  const SCROLL_IN_PAGE = `(sel, seconds) => new Promise((done) => {
    const el = document.querySelector(sel);
    el.scrollTop = 0;
    const idle = [];
    const measureIdle = (t) => {
      idle.push(t);
      if (idle.length < 31) return requestAnimationFrame(measureIdle);
      // The display's frame time: the median of 30 idle frames.
      const gaps = idle.slice(1).map((x, i) => x - idle[i]).sort((a, b) => a - b);
      const frameMs = gaps[Math.floor(gaps.length / 2)];
      const distance = el.scrollHeight - el.clientHeight;
      const steps = Math.round((seconds * 1000) / frameMs);
      const times = [];
      let step = 0;
      const tick = (now) => {
        times.push(now);
        if (step >= steps) {
          const g = times.slice(1).map((x, i) => x - times[i]);
          const dropped = g.reduce((n, x) => n + (x > frameMs * 1.5 ? Math.round(x / frameMs) - 1 : 0), 0);
          done({ frames: times.length - 1, seconds: (times[times.length - 1] - times[0]) / 1000, dropped, frameMs, longestMs: Math.max(...g), distance });
          return;
        }
        step++;
        // The same step every frame, whatever the total height (rows are measured as they render).
        el.scrollTop = Math.round((step / steps) * (el.scrollHeight - el.clientHeight));
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(measureIdle);
  })`;
  const scroll = (selector: string) => page.evaluate(`(${SCROLL_IN_PAGE})(${JSON.stringify(selector)}, ${SECONDS})`) as Promise<ScrollResult>;

  const report = (label: string, r: ScrollResult) => console.log(`${label}: ${(r.frames / r.seconds).toFixed(1)} frames/s over ${r.seconds.toFixed(1)} s `
    + `(display ${(1000 / r.frameMs).toFixed(0)} Hz), dropped ${r.dropped} of ${r.frames + r.dropped} (${((100 * r.dropped) / (r.frames + r.dropped)).toFixed(1)} %), `
    + `longest frame ${r.longestMs.toFixed(0)} ms, ${Math.round(r.distance)} px`);

  const list = await scroll('[data-testid="storyboard-scroll"]');
  report('list  (1,331 frames)              ', list);
  await page.keyboard.press('g');
  await page.waitForSelector('[data-testid="grid-card"]');
  const cols = await page.getAttribute('[data-testid="grid-scroll"]', 'data-columns');
  const grid = await scroll('[data-testid="grid-scroll"]');
  report(`grid  (default zoom, ${cols} columns)   `, grid);
  for (let i = 0; i < 10; i++) await page.keyboard.press('-');
  await page.waitForFunction((c) => (globalThis as any).document.querySelector('[data-testid="grid-scroll"]')?.getAttribute('data-columns') !== c, cols);
  const cols2 = await page.getAttribute('[data-testid="grid-scroll"]', 'data-columns');
  const small = await scroll('[data-testid="grid-scroll"]');
  report(`grid  (smallest zoom, ${cols2} columns) `, small);
  console.log(`dropped-frame share, grid / list: ${((grid.dropped / (grid.frames + grid.dropped)) / Math.max(1e-9, list.dropped / (list.frames + list.dropped))).toFixed(2)}×`);
  await browser.close();
  await server.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
