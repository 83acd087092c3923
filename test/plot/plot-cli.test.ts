import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/main/cli/main';
import { openProject } from '../../src/main/project/project';
import { getStoryboard } from '../../src/main/story/film-reader';
import { startFakeOpenAI, validAnswer, validScript, type FakeServer } from './fake-openai';
import { newProject } from './helpers';

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  vi.unstubAllEnvs();
});

async function cli(args: string[]): Promise<{ code: number; json: any }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => { out += String(chunk); return true; });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(args);
    return { code: process.exitCode && code === 0 ? Number(process.exitCode) : code, json: out ? JSON.parse(out) : null };
  } finally {
    spy.mockRestore();
    err.mockRestore();
    process.exitCode = 0;
  }
}

const breadth = ['--chapters', '2', '--subchapters', '2', '--frames', '3', '--dialogue', '2', '--qa', '1'];
const B = { chapters: 2, subchapters: 2, frames: 3, dialogueLines: 2, qaPairs: 1 };

describe('dreamframe plot', () => {
  it('generates one film per line of --themes, honouring OPENAI_BASE_URL and OPENAI_API_KEY', async () => {
    const s = await startFakeOpenAI(validScript(B, 5));
    servers.push(s);
    vi.stubEnv('OPENAI_BASE_URL', s.baseUrl);
    vi.stubEnv('OPENAI_API_KEY', 'sk-from-env');
    const project = newProject();
    const dir = project.dir;
    project.close();
    const themes = join(mkdtempSync(join(tmpdir(), 'df-themes-')), 'themes.txt');
    writeFileSync(themes, '# festival films\na lighthouse in winter\n\na circus that never sleeps\n');
    const { code, json } = await cli(['plot', '--project', dir, '--themes', themes, ...breadth, '--model', 'fake-large', '--concurrency', '3', '--json']);
    expect(code).toBe(0);
    expect(json.films.map((f: any) => f.theme)).toEqual(['a lighthouse in winter', 'a circus that never sleeps']);
    const perFilm = 1 + 2 + 4;
    for (const f of json.films) expect(f).toMatchObject({ nodes: { done: perFilm, failed: 0, pending: 0 }, usage: { requests: perFilm } });
    expect(s.log).toHaveLength(2 * perFilm);
    expect(s.log.every((r) => r.authorization === 'Bearer sk-from-env' && r.body.model === 'fake-large')).toBe(true);
    expect(s.peakInFlight).toBeLessThanOrEqual(3);
    const p = openProject(dir);
    expect(getStoryboard(p.db, json.films[1].filmId).frames).toHaveLength(2 * 2 * 3);
    p.close();
  });

  it('--base-url wins over the environment; --resume retries the nodes that failed', async () => {
    let healthy = false;
    const s = await startFakeOpenAI((req) => (req.node === 'c1.s0' && !healthy
      ? { content: 'no' } : { content: JSON.stringify(validAnswer(req.node!, B)) }));
    servers.push(s);
    vi.stubEnv('OPENAI_BASE_URL', 'http://127.0.0.1:1/v1');
    const project = newProject();
    const dir = project.dir;
    project.close();
    const first = await cli(['plot', '--project', dir, '--theme', 'a lighthouse', ...breadth, '--base-url', s.baseUrl, '--json']);
    expect(first.code).toBe(0);
    expect(first.json.films[0].nodes).toEqual({ done: 6, failed: 1, pending: 0 });
    healthy = true;
    const n = s.log.length;
    const second = await cli(['plot', '--project', dir, '--resume', '--json']);
    expect(second.json.films[0].nodes).toEqual({ done: 7, failed: 0, pending: 0 });
    expect(s.log.slice(n).map((r) => r.node)).toEqual(['c1.s0']);
  });

  it('rejects a call without a theme source', async () => {
    const project = newProject();
    const { code, json } = await cli(['plot', '--project', project.dir, '--json']);
    project.close();
    expect(code).toBe(1);
    expect(json.error.message).toMatch(/exactly one of --theme, --themes or --resume/);
  });
});
