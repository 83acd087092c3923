import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methods } from '../../src/shared/api/contract';
import { createProjectWithSample } from '../../src/main/app/context';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { dreamframeFixtureDir } from '../support/paths';
import { TestWsClient } from '../support/ws-client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

function httpGet(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; headers: Record<string, any>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('API over the serve-mode WebSocket', () => {
  let dir: string;
  let server: RunningServer;
  let client: TestWsClient;
  let rendererDir: string;
  // Methods exercised below; the last test checks that the contract has no method left untested.
  const exercised = new Set<string>();
  const call = async (method: string, input: unknown = {}) => {
    exercised.add(method);
    return client.call(method, input);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dreamframe-api-'));
    createProjectWithSample(join(dir, 'project'), true).close();
    rendererDir = join(dir, 'renderer');
    mkdirSync(rendererDir);
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>test</title>');
    server = await startServer({ projectDir: join(dir, 'project'), port: 0, rendererDir });
    client = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers app.info and lists the sample film', async () => {
    const info = await call('app.info');
    expect(info.mode).toBe('serve');
    expect(info.project.schemaVersion).toBeGreaterThanOrEqual(2);
    const films = await call('films.list');
    expect(films).toHaveLength(1);
    expect(films[0].counts).toMatchObject({ chapters: 3, subchapters: 6, frames: 24 });
  });

  it('imports story_js, returns detail and storyboard, characters', async () => {
    const report = await call('films.importStoryJs', { path: join(dreamframeFixtureDir, 'story_info_0.json') });
    expect(report.counts.frames).toBe(1331);
    await client.waitForEvent((e) => e.event === 'data.changed' && e.payload.filmId === report.filmId);
    const detail = await call('films.get', { filmId: report.filmId });
    expect(detail.chapters).toHaveLength(11);
    const board = await call('films.storyboard', { filmId: report.filmId });
    expect(board.frames).toHaveLength(1331);
    expect(board.dialogue).toHaveLength(650);
    const characters = await call('characters.list', { filmId: report.filmId });
    expect(characters.map((c: { name: string }) => c.name)).toEqual(['Darius', 'Eleanor', 'Baron Rigby']);
  });

  it('edits, reviews, undoes and redoes through the edit log, pushing data.changed', async () => {
    const films = await call('films.list');
    const board = await call('films.storyboard', { filmId: films[0].id });
    const frame = board.frames[0];
    const line = board.dialogue[0];
    const qa = board.qa[0];

    const edited = await call('frames.update', { frameId: frame.id, description: 'A new description.' });
    expect(edited.description).toBe('A new description.');
    await client.waitForEvent((e) => e.event === 'data.changed' && e.payload.entities.some((x: any) => x.type === 'frame' && x.ids.includes(frame.id)));
    expect((await call('dialogue.update', { id: line.id, text: 'Changed line', speaker: null })).speaker).toBeNull();
    expect((await call('qa.update', { id: qa.id, answer: 'Changed answer' })).answer).toBe('Changed answer');

    const { updated } = await call('review.set', { items: board.frames.map((f: any) => ({ type: 'frame', id: f.id })), state: 'approved' });
    expect(updated).toBe(24);

    const undo1 = await call('edits.undo', { filmId: films[0].id });
    expect(undo1.edit.label).toMatch(/Approve 24 items/);
    await call('edits.undo', { filmId: films[0].id });
    await call('edits.undo', { filmId: films[0].id });
    await call('edits.undo', { filmId: films[0].id });
    const restored = await call('films.storyboard', { filmId: films[0].id });
    expect(restored.frames[0].description).toBe(frame.description);
    expect(restored.frames.every((f: any) => f.review.state === 'draft')).toBe(true);
    expect((await call('edits.undo', { filmId: films[0].id })).edit).toBeNull();

    const redo = await call('edits.redo', { filmId: films[0].id });
    expect(redo.edit.label).toMatch(/Edit frame/);
    const after = await call('films.storyboard', { filmId: films[0].id });
    expect(after.frames[0].description).toBe('A new description.');

    // The rows a storyboard patches in after a change event: the named items as the full read has them,
    // ids of other films or of nothing left out.
    const items = await call('films.storyboardItems', {
      filmId: films[0].id, frames: [frame.id, after.frames[5].id, 999_999], dialogue: [line.id], qa: [qa.id],
    });
    expect(items.film).toEqual(after.film);
    expect([...items.frames].sort((a: any, b: any) => a.id - b.id)).toEqual([after.frames[0], after.frames[5]]);
    expect(items.dialogue).toEqual([after.dialogue[0]]);
    expect(items.qa).toEqual([after.qa[0]]);
  });

  it('lists, cancels and resumes jobs', async () => {
    const jobs = await call('jobs.list');
    expect(Array.isArray(jobs)).toBe(true);
    expect((await call('jobs.cancel', { jobId: 424242 })).cancelled).toBe(false);
    expect((await call('jobs.resume', { jobId: 424242 })).resumed).toBe(false);
  });

  it('backs up, creates and opens projects', async () => {
    const backup = await call('project.backup', { dest: join(dir, 'backup.sqlite') });
    expect(existsSync(backup.path)).toBe(true);
    const created = await call('project.create', { path: join(dir, 'second'), sample: false });
    expect(created.name).toBe('second');
    expect(await call('films.list')).toEqual([]);
    const reopened = await call('project.open', { path: join(dir, 'project') });
    expect(reopened.name).toBe('project');
    const films = await call('films.list');
    expect(films.length).toBe(2);
    const del = await call('films.delete', { filmId: films[1].id });
    expect(del.deleted).toBe(true);
    await expect(call('films.delete', { filmId: films[1].id })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('rejects invalid payloads with code, message and the field path', async () => {
    const bad = await client.request('films.get', { filmId: 'one' });
    expect(bad.ok).toBe(false);
    expect(bad.error.code).toBe('invalid_input');
    expect(bad.error.message).toMatch(/\$\.filmId/);
    const extra = await client.request('films.list', { sneaky: true });
    expect(extra.error.code).toBe('invalid_input');
    const unknown = await client.request('fs.readFile', { path: '/etc/passwd' });
    expect(unknown.error.code).toBe('unknown_method');
    const missing = await client.request('films.get', { filmId: 999999 });
    expect(missing.error).toMatchObject({ code: 'not_found' });
    const emptyReview = await client.request('review.set', { items: [], state: 'approved' });
    expect(emptyReview.error.code).toBe('invalid_input');
    const badState = await client.request('review.set', { items: [{ type: 'frame', id: 1 }], state: 'maybe' });
    expect(badState.error.code).toBe('invalid_input');
    client.sendRaw('this is not json');
    client.sendRaw(JSON.stringify({ method: 'films.list' }));
    await new Promise((r) => setTimeout(r, 100));
    expect(client.raw.filter((m) => m.error?.code === 'bad_message')).toHaveLength(2);
  });

  it('refuses WebSocket connections without the right token or from a foreign origin', async () => {
    await expect(TestWsClient.connect(`ws://127.0.0.1:${server.port}/api`)).rejects.toThrow(/401/);
    await expect(TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=wrong`)).rejects.toThrow(/401/);
    await expect(TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { origin: 'http://evil.example' }))
      .rejects.toThrow(/401/);
  });

  it('guards media with the token and the Host header, and serves frame cards', async () => {
    const board = await call('films.storyboard', { filmId: (await call('films.list'))[0].id });
    const key = board.frames[0].thumbnail.key as string;
    const [path, v] = key.split('?');
    const ok = await httpGet(server.port, `/media/thumb/${path}?${v}&token=${server.token}`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('image/webp');
    expect(ok.body.subarray(8, 12).toString()).toBe('WEBP');
    expect((await httpGet(server.port, `/media/thumb/${path}`)).status).toBe(401);
    expect((await httpGet(server.port, `/media/thumb/${path}?token=nope`)).status).toBe(401);
    expect((await httpGet(server.port, `/media/thumb/frame/999999?token=${server.token}`)).status).toBe(404);
    // A page on another host name (DNS rebinding) is refused even with the token.
    expect((await httpGet(server.port, `/?token=${server.token}`, `evil.example:${server.port}`)).status).toBe(403);
    const index = await httpGet(server.port, '/');
    expect(index.status).toBe(200);
    expect(index.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect((await httpGet(server.port, '/../../etc/passwd')).status).toBe(404);
  });

  it('listens on the loopback interface only', async () => {
    const external = Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal);
    for (const addr of external) {
      await expect(new Promise((resolve, reject) => {
        const req = request({ host: addr!.address, port: server.port, path: '/', timeout: 2000 }, resolve);
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end();
      })).rejects.toThrow();
    }
    // The socket itself is bound to 127.0.0.1.
    expect(server.url.startsWith(`http://127.0.0.1:${server.port}/`)).toBe(true);
  });

  it('exercised every method of the contract', () => {
    expect(Object.keys(methods).filter((m) => !exercised.has(m) && m.split('.')[0] in CORE)).toEqual([]);
  });
});

/** Method prefixes owned by the foundation; feature areas test their own methods. */
const CORE: Record<string, true> = { app: true, project: true, films: true, characters: true, frames: true, dialogue: true, qa: true, review: true, edits: true, jobs: true };
