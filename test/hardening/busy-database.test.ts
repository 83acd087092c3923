import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { setWriteRetryBudget } from '../../src/main/db/write-retry';
import { importStoryJsFile } from '../../src/main/import/story-js';
import { createProject, openProject } from '../../src/main/project/project';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { dreamframeFixtureDir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { TestWsClient } from '../support/ws-client';

const STORY = join(dreamframeFixtureDir, 'story_info_0.json');
const IMPORTER = join(__dirname, 'support', 'slow-importer.ts');

/** Starts the second process and resolves once it holds the write lock; `finished` gives its last line. */
function startImporter(projectDir: string, holdMs: number, repeat: number): Promise<{ child: ChildProcess; finished: Promise<string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', IMPORTER, projectDir, STORY, String(holdMs), String(repeat)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  let last = '';
  const finished = new Promise<string>((resolve) => child.on('exit', () => resolve(last)));
  return new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      last = line;
      if (line === 'holding') resolve({ child, finished });
    });
    child.on('exit', (code) => reject(new Error(`importer exited (${code}) before taking the lock`)));
  });
}

describe('edits while another process holds the write lock', () => {
  const tmp = useTempDir('df-busy-');
  let server: RunningServer | null = null;
  let client: TestWsClient | null = null;
  afterEach(async () => {
    client?.close();
    await server?.close();
    server = null;
    client = null;
  });

  async function serveProject(): Promise<{ projectDir: string; frameIds: number[] }> {
    const projectDir = join(tmp(), 'p');
    const p = createProject(projectDir);
    const { filmId } = importStoryJsFile(p, STORY);
    const frameIds = p.db.prepare<[number], { id: number }>(`SELECT f.id FROM frame f JOIN subchapter s ON s.id = f.subchapter_id
      JOIN chapter c ON c.id = s.chapter_id WHERE c.film_id = ? ORDER BY f.id LIMIT 5`).all(filmId).map((r) => r.id);
    p.close();
    server = await startServer({ projectDir, port: 0 });
    client = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    return { projectDir, frameIds };
  }

  it('every API edit lands while a long import in another process holds the lock past the busy timeout', async () => {
    const { projectDir, frameIds } = await serveProject();
    const { finished } = await startImporter(projectDir, 7000, 3);
    for (const [i, frameId] of frameIds.entries()) {
      const res = await client!.request('frames.update', { frameId, description: `edited while busy ${i}` });
      expect(res.error ?? null).toBeNull();
    }
    expect(await finished).toBe('done 5');
    const p = openProject(projectDir);
    const stored = frameIds.map((id) => p.db.prepare<[number], { d: string }>('SELECT description AS d FROM frame WHERE id = ?').get(id)!.d);
    p.close();
    expect(stored).toEqual(frameIds.map((_, i) => `edited while busy ${i}`));
  }, 60_000);

  it('a write that cannot happen within the budget says another process is writing, with its own code', async () => {
    const { projectDir, frameIds } = await serveProject();
    const before = setWriteRetryBudget(1000);
    try {
      const { finished } = await startImporter(projectDir, 8000, 0);
      const res = await client!.request('frames.update', { frameId: frameIds[0], description: 'too early' });
      expect(res.ok).toBe(false);
      expect(res.error.code).toBe('db_busy');
      expect(res.error.message).toMatch(/Another process is writing to this project/);
      await finished;
      // Once the other process is done, the same edit goes through.
      const again = await client!.request('frames.update', { frameId: frameIds[0], description: 'later' });
      expect(again.ok).toBe(true);
    } finally {
      setWriteRetryBudget(before);
    }
  }, 60_000);
});
