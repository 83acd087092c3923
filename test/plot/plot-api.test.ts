import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methods } from '../../src/shared/api/contract';
import { createProject } from '../../src/main/project/project';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { TestWsClient } from '../support/ws-client';
import { looseScript, startFakeOpenAI, validScript, type FakeServer } from './fake-openai';
import { SMALL } from './helpers';

const SECRET = 'sk-test-7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e';

describe('plot.* over the serve-mode WebSocket', () => {
  let dir: string;
  let projectDir: string;
  let server: RunningServer;
  let client: TestWsClient;
  let llm: FakeServer;
  const exercised = new Set<string>();
  const call = async (method: string, input: unknown = {}) => {
    exercised.add(method);
    return client.call(method, input);
  };
  const waitJob = async (jobId: number) => {
    for (let i = 0; i < 1000; i++) {
      const job = (await call('jobs.list')).find((j: any) => j.id === jobId);
      if (job && ['done', 'failed', 'cancelled'].includes(job.status)) return job;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`job ${jobId} did not finish`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'df-plot-api-'));
    process.env.DREAMFRAME_CONFIG_DIR = join(dir, 'config');
    projectDir = join(dir, 'project');
    createProject(projectDir).close();
    llm = await startFakeOpenAI(validScript(SMALL));
    server = await startServer({ projectDir, port: 0 });
    client = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await llm?.close();
  });

  it('keeps installation settings in the config folder and project overrides in the project; the key in neither', async () => {
    const before = await call('plot.settings.get');
    expect(before.effective.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(before.apiKey.present).toBe(false);
    await call('plot.settings.set', { scope: 'installation', values: { model: 'fake-small', temperature: 0.3 } });
    const view = await call('plot.settings.set', {
      scope: 'project', values: { baseUrl: llm.baseUrl, maxConcurrency: 4, retryBaseMs: 5 }, apiKey: SECRET,
    });
    expect(view.effective).toMatchObject({ baseUrl: llm.baseUrl, model: 'fake-small', temperature: 0.3, maxConcurrency: 4 });
    expect(view.installation).toEqual({ model: 'fake-small', temperature: 0.3 });
    expect(view.apiKey).toEqual({ present: true, source: 'store' });
    expect(JSON.stringify(view)).not.toContain(SECRET);
    const file = JSON.parse(readFileSync(join(dir, 'config', 'llm-provider.json'), 'utf8'));
    expect(file).toEqual({ model: 'fake-small', temperature: 0.3 });
  });

  it('tests the connection by listing the server models', async () => {
    expect(await call('plot.testConnection')).toEqual({ baseUrl: llm.baseUrl, models: ['fake-small', 'fake-large'] });
    const res = await client.request('plot.testConnection', { values: { baseUrl: 'http://127.0.0.1:1/v1' } });
    expect(res.ok).toBe(false);
    expect(res.error.code).toBe('plot.connection_failed');
  });

  let filmId: number;
  it('creates a film from a theme up to level 1, lets level 1 be edited, then expands with the edit', async () => {
    const { filmIds, job } = await call('plot.create', { themes: ['a lighthouse in winter'], breadth: SMALL, expandUntil: 1 });
    filmId = filmIds[0];
    expect((await waitJob(job.id)).status).toBe('done');
    let tree = await call('plot.tree', { filmId });
    expect(tree.nodes.map((n: any) => [n.key, n.status])).toEqual([['film', 'done'], ['c0', 'pending'], ['c1', 'pending'], ['c2', 'pending']]);
    expect(tree.nodes[0]).toMatchObject({ model: 'fake-small', templateVersion: 'builtin-1', usage: { requests: 1, promptTokens: 100 }, warnings: [] });
    // The key reached the server as the bearer token.
    expect(llm.log[llm.log.length - 1].authorization).toBe(`Bearer ${SECRET}`);

    const detail = await call('films.get', { filmId });
    expect(detail.film.title).toBe('The Lantern Keeper');
    await client.call('qa.update', { id: detail.qa[0].id, answer: 'edited' });
    // Edit chapter 2's summary before expanding further.
    const edited = await call('plot.outline.update', { type: 'chapter', id: detail.chapters[1].id, summary: 'EDITED SUMMARY OF CHAPTER TWO' });
    expect(edited).toMatchObject({ type: 'chapter', id: detail.chapters[1].id, title: 'Chapter 2', summary: 'EDITED SUMMARY OF CHAPTER TWO' });

    const job2 = await call('plot.expand', { filmId, untilLevel: 3 });
    expect((await waitJob(job2.id)).status).toBe('done');
    const c1 = llm.log.find((r) => r.node === 'c1')!;
    expect(c1.body.messages[1].content).toContain('EDITED SUMMARY OF CHAPTER TWO');
    tree = await call('plot.tree', { filmId });
    expect(tree.nodes).toHaveLength(1 + SMALL.chapters + SMALL.chapters * SMALL.subchapters);
    expect(tree.usage.requests).toBe(tree.nodes.length);
    const sb = await call('films.storyboard', { filmId });
    expect(sb.frames).toHaveLength(SMALL.chapters * SMALL.subchapters * SMALL.frames);
    const sub = await call('plot.outline.update', { type: 'subchapter', id: sb.subchapters[0].id, title: 'Renamed' });
    expect(sub).toMatchObject({ title: 'Renamed', summary: sb.subchapters[0].summary });
    const missing = await client.request('plot.outline.update', { type: 'subchapter', id: 999999, title: 'x' });
    expect(missing.error.code).toBe('not_found');
  });

  it('shows a node with its raw answer, previews the final frame prompt, and regenerates a node with its children', async () => {
    const node = await call('plot.node', { filmId, key: 'c1.s2' });
    expect(JSON.parse(node.rawAnswer).frames).toHaveLength(SMALL.frames);
    expect(node.result.frames[0].description).toContain('Lila');
    const sb = await call('films.storyboard', { filmId });
    const { prompt } = await call('plot.framePrompt', { frameId: sb.frames[0].id });
    expect(prompt).toBe(`generate an image in Dramatic style: ${sb.frames[0].description
      .replace('Lila', 'a woman looks like Emma Stone in green').replace("Tom's", "a man looks like Ryan Gosling in navy blue's")}`);

    const saved = await call('plot.templates.save', { level: 3, system: 'Custom storyboard rules. {{frames}} frames.', user: 'Scene {{subchapterNumber}}' });
    expect(saved.version).toBe('custom-1');
    expect((await call('plot.templates.list')).map((t: any) => t.version)).toEqual(['builtin-1', 'builtin-1', 'custom-1']);
    const n = llm.log.length;
    const job = await call('plot.regenerate', { filmId, key: 'c0', children: true });
    expect((await waitJob(job.id)).status).toBe('done');
    expect(llm.log.slice(n).map((r) => r.node).sort()).toEqual(['c0', 'c0.s0', 'c0.s1', 'c0.s2']);
    expect(llm.log.slice(n).find((r) => r.node === 'c0.s1')!.body.messages[1].content).toBe('Scene 1-2');
    const tree = await call('plot.tree', { filmId });
    expect(tree.nodes.find((x: any) => x.key === 'c0.s1').templateVersion).toBe('custom-1');
    expect(tree.nodes.find((x: any) => x.key === 'c1.s1').templateVersion).toBe('builtin-1');
    expect((await call('plot.templates.reset', { level: 3 })).version).toBe('builtin-1');
  });

  it('carries what was repaired in a loosely written answer on the node (tree and detail)', async () => {
    llm.script = looseScript(SMALL);
    const { filmIds, job } = await call('plot.create', { themes: ['loose'], breadth: SMALL, expandUntil: 1 });
    expect((await waitJob(job.id)).status).toBe('done');
    const tree = await call('plot.tree', { filmId: filmIds[0] });
    expect(tree.nodes[0]).toMatchObject({ key: 'film', status: 'done' });
    expect(tree.nodes[0].warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^styleDescription: had no \{Dramatic\}/)]));
    const node = await call('plot.node', { filmId: filmIds[0], key: 'film' });
    expect(node.warnings).toEqual(tree.nodes[0].warnings);
    // The raw answer is kept as the model wrote it; the result is what was committed.
    expect(JSON.parse(node.rawAnswer).styleDescription).not.toContain('{Dramatic}');
    expect(node.result.styleDescription).toContain('{Dramatic}');
  });

  it('never writes the API key into the project database files', async () => {
    // A server that echoes the key in its 401 error: the failed node's stored error must not carry it.
    llm.script = (req) => ({ status: 401, body: { error: { message: `Incorrect API key provided: ${req.authorization?.slice(7)}` } } });
    const { filmIds, job } = await call('plot.create', { themes: ['echo'], breadth: SMALL, expandUntil: 1 });
    await waitJob(job.id);
    const failed = await call('plot.node', { filmId: filmIds[0], key: 'film' });
    expect(failed.status).toBe('failed');
    expect(failed.error.message).toMatch(/HTTP 401.*Incorrect API key provided: \[redacted\]/);
    const { openProject } = await import('../../src/main/project/project');
    const p = openProject(projectDir);
    p.db.pragma('wal_checkpoint(TRUNCATE)');
    p.close();
    const files = readdirSync(projectDir).filter((f) => f.startsWith('project.sqlite'));
    expect(files).toContain('project.sqlite');
    for (const f of files) {
      const bytes = readFileSync(join(projectDir, f));
      expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
      expect(bytes.includes(Buffer.from(SECRET.slice(3, 20)))).toBe(false);
    }
    // Nor into the installation config folder in serve mode (held in memory there).
    const configFiles = existsSync(join(dir, 'config')) ? readdirSync(join(dir, 'config'), { recursive: true }) as string[] : [];
    for (const f of configFiles) {
      const full = join(dir, 'config', f);
      try { expect(readFileSync(full).includes(Buffer.from(SECRET))).toBe(false); } catch (e) { if ((e as any).code !== 'EISDIR') throw e; }
    }
    // The raw requests did carry it, so the check above is not vacuous.
    expect(llm.log.filter((r) => r.authorization === `Bearer ${SECRET}`).length).toBeGreaterThan(10);
  });

  it('exercised every plot method of the contract', () => {
    expect(Object.keys(methods).filter((m) => m.startsWith('plot.') && !exercised.has(m))).toEqual([]);
  });
});
