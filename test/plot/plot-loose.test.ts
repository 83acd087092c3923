import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/main/cli/main';
import { openProject } from '../../src/main/project/project';
import { getStoryboard } from '../../src/main/story/film-reader';
import { looseScript, startFakeOpenAI, validAnswer, type FakeServer } from './fake-openai';
import { SMALL, fastProvider, generate, newProject } from './helpers';

/**
 * Issue 13 §2: a model that follows the JSON Schema but not the prompt's cosmetic rules must still give
 * a complete film; what was repaired is kept as warnings on the plot nodes.
 */

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

function warningsOf(dir: string, filmId: number): Record<string, string[]> {
  const p = openProject(dir);
  try {
    return Object.fromEntries((p.db.prepare('SELECT key, warnings_json FROM plot_node WHERE film_id = ?').all(filmId) as
      { key: string; warnings_json: string }[]).map((r) => [r.key, JSON.parse(r.warnings_json) as string[]]));
  } finally {
    p.close();
  }
}

describe('plot answers that break the prompt\'s cosmetic rules', () => {
  it('dreamframe plot --chapters 3 --subchapters 2 --frames 4 completes the film and records what it repaired', async () => {
    const B = { chapters: 3, subchapters: 2, frames: 4, dialogueLines: 6, qaPairs: 2 };
    const s = await startFakeOpenAI(looseScript(B));
    servers.push(s);
    vi.stubEnv('OPENAI_BASE_URL', s.baseUrl);
    const project = newProject();
    const dir = project.dir;
    project.close();
    const { code, json } = await cli(['plot', '--project', dir, '--theme', 'a lantern keeper', '--chapters', '3', '--subchapters', '2', '--frames', '4', '--json']);
    expect(code).toBe(0);
    const film = json.films[0];
    expect(film.nodes).toEqual({ done: 1 + 3 + 6, failed: 0, pending: 0 });
    // Every node had padding to trim; the CLI counts the nodes with repairs.
    expect(film.repaired).toBe(10);
    // No re-asks: every answer was accepted as it came.
    expect(s.log.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(10);

    const p = openProject(dir);
    const sb = getStoryboard(p.db, film.filmId) as any;
    const row = p.db.prepare('SELECT title, style_description, style_keyword, locations_json FROM film WHERE id = ?').get(film.filmId) as any;
    p.close();
    expect(sb.frames).toHaveLength(3 * 2 * 4);
    expect(row.title).toBe('The Lantern Keeper');
    expect(row.style_keyword).toBe('Dramatic');
    expect(row.style_description).toBe('warm lantern light, muted teal shadows, film grain, {Dramatic} contrast');
    const locations = JSON.parse(row.locations_json);
    expect(locations.slice(0, 3)).toEqual(['path leading from the city gates', 'old stone bridge over the river', 'forest']);
    expect(locations).toContain('the lighthouse');
    expect(sb.chapters[0].scene).toBe('path leading from the city gates, the lighthouse');
    expect(sb.frames.every((f: any) => f.description === f.description.trim())).toBe(true);

    const warnings = warningsOf(dir, film.filmId);
    expect(warnings.film).toEqual(expect.arrayContaining([
      expect.stringMatching(/styleDescription.*\{Dramatic\}/),
      expect.stringMatching(/styleDescription.*\(\(/),
      expect.stringMatching(/more than two words.*path leading from the city gates/),
      expect.stringMatching(/chapters\.0\.scene.*"the lighthouse".*added/),
      expect.stringMatching(/chapters\.1\.qa.*who/),
      expect.stringMatching(/whitespace/),
    ]));
    expect(warnings.c0).toEqual([expect.stringMatching(/whitespace/)]);
    expect(warnings['c0.s0']).toEqual([expect.stringMatching(/whitespace/)]);
  });

  it('keeps the first items of a list longer than asked (with a warning) and re-asks for a list that is too short', async () => {
    const B = { ...SMALL, chapters: 2, subchapters: 1 };
    let shortAsked = 0;
    const s = await startFakeOpenAI((req) => {
      const a = validAnswer(req.node!, B) as any;
      if (req.node === 'film') a.chapters.push({ ...a.chapters[0], title: 'One too many' });
      if (req.node === 'c0.s0') a.frames.push(a.frames[0], a.frames[1]);
      if (req.node === 'c1.s0' && shortAsked++ === 0) a.frames.pop();
      return { content: JSON.stringify(a) };
    });
    servers.push(s);
    const project = newProject();
    const { filmIds } = await generate(project, { themes: ['t'], breadth: B, provider: fastProvider(s.baseUrl) });
    const sb = getStoryboard(project.db, filmIds[0]) as any;
    expect(sb.chapters.map((c: any) => c.title)).toEqual(['Chapter 1', 'Chapter 2']);
    expect(sb.frames).toHaveLength(2 * 1 * B.frames);
    const w = Object.fromEntries((project.db.prepare('SELECT key, warnings_json FROM plot_node WHERE film_id = ?').all(filmIds[0]) as any[])
      .map((r) => [r.key, JSON.parse(r.warnings_json)]));
    expect(w.film).toEqual([expect.stringMatching(/^chapters: 3 given, 2 asked; kept the first 2/)]);
    expect(w['c0.s0']).toEqual([expect.stringMatching(/^frames: 6 given, 4 asked; kept the first 4/)]);
    expect(w['c1.s0']).toEqual([]);
    const asks = s.log.filter((r) => r.node === 'c1.s0');
    expect(asks).toHaveLength(2);
    expect(asks[1].body.messages.at(-1).content).toMatch(/frames/);
    project.close();
  });
});
