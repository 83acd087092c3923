/**
 * Foundation measurements (printed, never asserted):
 * - importing the release's story_info_0.json (1,331 frames) into a fresh project;
 * - opening that film through the API over the serve-mode WebSocket (films.storyboard), versus the
 *   same read straight from the database, so the transport's share is visible as a ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { importStoryJsFile } from '../src/main/import/story-js';
import { createProject } from '../src/main/project/project';
import { getStoryboard } from '../src/main/story/film-reader';
import { startServer } from '../src/main/transports/server';
import { TestWsClient } from '../test/support/ws-client';

const fixture = resolve(process.env.DREAMFRAME_SHARED ?? resolve(import.meta.dirname, '../../shared'), 'fixtures/dreamframe/story_info_0.json');
const runs = Number(process.env.BENCH_RUNS ?? 10);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const dir = mkdtempSync(join(tmpdir(), 'dreamframe-bench-'));
try {
  const importMs: number[] = [];
  let filmId = 0;
  for (let i = 0; i < runs; i++) {
    const p = createProject(join(dir, `p${i}`));
    const t = performance.now();
    filmId = importStoryJsFile(p, fixture).filmId;
    importMs.push(performance.now() - t);
    p.close();
  }

  const server = await startServer({ projectDir: join(dir, 'p0'), port: 0, rendererDir: dir });
  const client = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
  const apiMs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const board = await client.call('films.storyboard', { filmId });
    apiMs.push(performance.now() - t);
    bytes = JSON.stringify(board).length;
  }
  const dbMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    getStoryboard(server.context.requireProject().db, filmId);
    dbMs.push(performance.now() - t);
  }
  client.close();
  await server.close();

  console.log(`story_js import (1,331 frames, 650 lines, 144 QA): median ${median(importMs).toFixed(1)} ms over ${runs} runs`);
  console.log(`open film via API (films.storyboard over WebSocket, ${(bytes / 1024).toFixed(0)} KiB): median ${median(apiMs).toFixed(1)} ms`);
  console.log(`same read from the database directly: median ${median(dbMs).toFixed(1)} ms`);
  console.log(`API / direct ratio: ${(median(apiMs) / median(dbMs)).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
