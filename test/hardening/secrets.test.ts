import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { dispatch } from '../../src/main/api/dispatch';
import type { AppContext } from '../../src/main/app/context';
import { API_KEY_SECRET, secretStore } from '../../src/main/plot/secret-store';
import { startServer } from '../../src/main/transports/server';
import { createProject } from '../../src/main/project/project';
import { redactSecrets } from '../../src/main/util/redact-secrets';
import { startFakeOpenAI, validAnswer, type FakeServer } from '../plot/fake-openai';
import { fastProvider, generate, newProject, SMALL } from '../plot/helpers';
import { TestWsClient } from '../support/ws-client';
import { useTempDir } from '../support/tmp';

// Not shaped like "sk-…", so only knowing the configured value can catch it.
const SECRET = 'Zq9plainSecretValue2718281828';

/** Every text cell of every table, as one string. */
function everyStoredText(db: import('better-sqlite3').Database): string {
  const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'").all();
  return tables.map(({ name }) => JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all())).join('\n');
}

describe('configured secrets never reach the database or the logs', () => {
  const tmp = useTempDir('df-secrets-');
  let llm: FakeServer | null = null;
  afterAll(async () => { await llm?.close(); });

  it('redacts a key the endpoint echoes in an answer, in a failing answer and in an error', async () => {
    process.env.DF_TEST_SECRET_KEY = SECRET;
    const echoed = (auth: string | null) => (auth ?? '').replace(/^Bearer /, '');
    llm = await startFakeOpenAI((req) => {
      const key = echoed(req.authorization);
      if (req.node === 'film') {
        const a = validAnswer('film', SMALL) as { overview: string };
        return { content: JSON.stringify({ ...a, overview: `${a.overview} (asked with key ${key})` }) };
      }
      if (req.node === 'c0') return { content: `I cannot answer; your key ${key} is not allowed here.` };
      if (req.node === 'c1') return { status: 401, body: { error: { message: `Incorrect API key provided: ${key}`, type: 'invalid_request_error' } } };
      return { content: JSON.stringify(validAnswer(req.node ?? '', SMALL)) };
    });
    const warn = vi.spyOn(console, 'warn');
    const error = vi.spyOn(console, 'error');
    const project = newProject();
    const { filmIds, runner } = await generate(project, {
      themes: ['a lighthouse'], breadth: SMALL, expandUntil: 2,
      provider: fastProvider(llm.baseUrl, { apiKeyEnv: 'DF_TEST_SECRET_KEY', reasks: 1, retries: 0 }),
    });
    await runner.stop();
    // The key did go to the server, and the server did echo it back.
    expect(llm.log.some((r) => r.authorization === `Bearer ${SECRET}`)).toBe(true);
    const stored = everyStoredText(project.db);
    expect(stored).toContain('[redacted]');
    expect(stored).toContain('asked with key');
    expect(stored).not.toContain(SECRET);
    const statuses = project.db.prepare<[number], { key: string; status: string }>('SELECT key, status FROM plot_node WHERE film_id = ?').all(filmIds[0]);
    expect(statuses.find((s) => s.key === 'c0')?.status).toBe('failed');
    expect(statuses.find((s) => s.key === 'c1')?.status).toBe('failed');
    project.close();
    // Nothing on disk either: the database file and its WAL.
    for (const f of readdirSync(project.dir)) {
      if (f.startsWith('project.sqlite')) expect(readFileSync(join(project.dir, f)).includes(SECRET)).toBe(false);
    }
    for (const call of [...warn.mock.calls, ...error.mock.calls]) expect(JSON.stringify(call)).not.toContain(SECRET);
    delete process.env.DF_TEST_SECRET_KEY;
  });

  it('an API failure quoting the key is redacted in the log line and in the answer', async () => {
    secretStore().set(API_KEY_SECRET, SECRET);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const ctx = { wiring: { handlers: { 'films.list': () => { throw new Error(`upstream said: bad key ${SECRET}`); } } } } as unknown as AppContext;
    const res = await dispatch(ctx, 'films.list', {});
    expect(res.ok).toBe(false);
    expect(JSON.stringify(res)).not.toContain(SECRET);
    expect(JSON.stringify(res)).toContain('bad key [redacted]');
    expect(error).toHaveBeenCalled();
    for (const call of error.mock.calls) expect(JSON.stringify(call)).not.toContain(SECRET);
    error.mockRestore();
    secretStore().set(API_KEY_SECRET, null);
  });

  it('redactSecrets hides every configured secret, also inside longer text', () => {
    secretStore().set('another-secret', 'hunter2hunter2');
    secretStore().set(API_KEY_SECRET, SECRET);
    expect(redactSecrets(`a ${SECRET}b hunter2hunter2 c`)).toBe('a [redacted]b [redacted] c');
    secretStore().set('another-secret', null);
    secretStore().set(API_KEY_SECRET, null);
  });

  it('in serve mode a key set through plot.settings.set persists encrypted across a restart', async () => {
    const dir = tmp();
    process.env.DREAMFRAME_CONFIG_DIR = join(dir, 'config');
    const projectDir = join(dir, 'project');
    createProject(projectDir).close();
    // The app's own safeStorage file (unreadable here) sits in the same config folder and must stay as it is.
    const appFile = join(dir, 'config', 'secrets', 'llm-api-key.bin');
    mkdirSync(join(dir, 'config', 'secrets'), { recursive: true });
    writeFileSync(appFile, Buffer.from('v10 safeStorage bytes'));
    let server = await startServer({ projectDir, port: 0 });
    let client = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    await client.call('plot.settings.set', { scope: 'installation', values: { apiKeyEnv: 'DF_UNSET_KEY_VAR' }, apiKey: SECRET });
    client.close();
    await server.close();

    // Nothing under the config folder holds the key in plain text; the key files are the user's only.
    const files: string[] = [];
    const walk = (d: string) => readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(join(d, e.name)) : files.push(join(d, e.name))));
    walk(join(dir, 'config'));
    expect(files.filter((x) => x.startsWith(join(dir, 'config', 'secrets', 'local'))).length).toBe(2);
    expect(readFileSync(appFile, 'utf8')).toBe('v10 safeStorage bytes');
    for (const f of files) expect(readFileSync(f).includes(SECRET)).toBe(false);
    for (const f of files.filter((x) => x.startsWith(join(dir, 'config', 'secrets', 'local')))) expect(statSync(f).mode & 0o077).toBe(0);

    server = await startServer({ projectDir, port: 0 });
    client = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    const view = await client.call('plot.settings.get', {});
    expect(view.apiKey).toEqual({ present: true, source: 'store' });
    expect(secretStore().get(API_KEY_SECRET)).toBe(SECRET);
    await client.call('plot.settings.set', { scope: 'installation', values: {}, apiKey: null });
    expect((await client.call('plot.settings.get', {})).apiKey.present).toBe(false);
    client.close();
    await server.close();
  });
});
