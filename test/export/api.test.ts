import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { openProject } from '../../src/main/project/project';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { exportMethods } from '../../src/shared/api/methods-export';
import { TestWsClient } from '../support/ws-client';
import { approveAll, itemIds, review } from './helpers';

/** The export methods over the real serve-mode WebSocket transport. */
describe('export API over WebSocket', () => {
  let dir: string;
  let server: RunningServer;
  let client: TestWsClient;
  const exercised = new Set<string>();
  const call = (method: string, input: unknown = {}) => {
    exercised.add(method);
    return client.call(method, input);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'df-export-api-'));
    const p = createProjectWithSample(join(dir, 'project'), true);
    approveAll(p, 1);
    review(p, 'qa', itemIds(p, 1, 'qa').slice(0, 2), 'rejected');
    p.close();
    server = await startServer({ projectDir: join(dir, 'project'), port: 0 });
    client = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports dataset statistics that match the database', async () => {
    const stats = await call('export.stats', {});
    const p = openProject(join(dir, 'project'));
    try {
      const n = (sql: string) => (p.db.prepare(sql).get() as { n: number }).n;
      expect(stats.frames).toBe(n("SELECT count(*) AS n FROM frame WHERE review_state = 'approved'"));
      expect(stats.dialogueLines).toBe(n("SELECT count(*) AS n FROM dialogue_line WHERE review_state = 'approved'"));
      expect(stats.qaPairs.total).toBe(n("SELECT count(*) AS n FROM qa_pair WHERE review_state = 'approved'"));
      expect(stats.qaPairs.subchapter).toBe(n("SELECT count(*) AS n FROM qa_pair WHERE review_state = 'approved' AND scope = 'subchapter'"));
      const kinds = p.db.prepare("SELECT kind, count(*) AS n FROM qa_pair WHERE review_state = 'approved' GROUP BY kind").all() as { kind: string; n: number }[];
      for (const k of kinds) expect(stats.questionKinds[k.kind]).toBe(k.n);
      const answers = (p.db.prepare("SELECT answer FROM qa_pair WHERE review_state = 'approved'").all() as { answer: string }[])
        .map((r) => r.answer.trim().split(/\s+/).length).sort((a, b) => a - b);
      expect(stats.answerWords).toMatchObject({ count: answers.length, min: answers[0], max: answers[answers.length - 1] });
      expect(stats.answerWords.mean).toBeCloseTo(answers.reduce((a, b) => a + b, 0) / answers.length, 1);
      expect(stats.framesPerFilm).toMatchObject({ count: 1, min: 24, max: 24 });
      expect(stats.excluded.qaPairs).toBe(2);
    } finally {
      p.close();
    }
    const withDrafts = await call('export.stats', { includeDrafts: true });
    expect(withDrafts.qaPairs.total).toBe(stats.qaPairs.total);
    // The dialog's decision before exporting (#17 defect 7) uses the same selection as the statistics.
    const preflight = await call('export.preflight', { format: 'llama-vid' });
    expect(preflight).toMatchObject({
      frames: stats.frames, unrenderedFrames: stats.unrenderedFrames, staleFrames: 0, dialogueLines: stats.dialogueLines,
      qaPairs: stats.qaPairs.total, excluded: stats.excluded, emptyReason: null,
    });
  });

  it('runs an export job with progress events and returns its manifest', async () => {
    const outDir = join(dir, 'out');
    expect(await call('export.manifest', { outDir, format: 'jsonl' })).toBeNull();
    const job = await call('export.start', { format: 'jsonl', outDir, filmIds: [1] });
    expect(job.kind).toBe('export');
    await client.waitForEvent((e) => e.event === 'job.progress' && e.payload.id === job.id && e.payload.status === 'done', 60_000);
    expect(client.events.some((e) => e.event === 'job.progress' && e.payload.id === job.id && e.payload.status === 'running')).toBe(true);
    const manifest = await call('export.manifest', { outDir, format: 'jsonl' });
    expect(manifest.format).toBe('jsonl');
    const lines = readFileSync(join(outDir, 'qa.jsonl'), 'utf8').trim().split('\n');
    expect(manifest.counts.records['qa.jsonl']).toBe(lines.length);
    expect(lines.length).toBe(manifest.stats.qaPairs.total);
    expect(JSON.parse(lines[0])).toMatchObject({ film_id: 1, scope: 'film', video: null });
  }, 60_000);

  it('rejects invalid input and unknown films with an error payload', async () => {
    await expect(call('export.start', { format: 'mp4', outDir: join(dir, 'x') })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(call('export.start', { format: 'jsonl', outDir: join(dir, 'y'), filmIds: [99] }))
      .rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('99') });
    // a folder inside the project is refused before a job starts (test/hardening/export-ownership.test.ts)
    await expect(call('export.start', { format: 'jsonl', outDir: join(dir, 'project') })).rejects.toMatchObject({ code: 'export_inside_project' });
    // a job that fails while running reports its error on the job: here, another project's folder
    createProjectWithSample(join(dir, 'other-project'), false).close();
    const job = await call('export.start', { format: 'jsonl', outDir: join(dir, 'other-project') });
    const failed = await client.waitForEvent((e) => e.event === 'job.progress' && e.payload.id === job.id && e.payload.status === 'failed', 30_000);
    expect(failed.payload.error.code).toBe('export_bad_folder');
  }, 60_000);

  it('exercised every export method', () => {
    expect(Object.keys(exportMethods).filter((m) => !exercised.has(m))).toEqual([]);
  });
});
