import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importStoryJsFile, importStoryJsText } from '../../src/main/import/story-js';
import { createProject, openProject } from '../../src/main/project/project';
import { listFilms } from '../../src/main/story/film-reader';
import { repoRoot } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { storyFixture } from './helpers';

/** Importing the same story_js twice is refused unless asked for (`--as-new` / `asNew`). */
describe('duplicate story_js import', () => {
  const tmp = useTempDir();

  it('refuses the same content again, naming the film and --as-new; imports it with asNew', () => {
    const p = createProject(join(tmp(), 'project'));
    try {
      const first = importStoryJsFile(p, storyFixture);
      const err = (() => { try { importStoryJsFile(p, storyFixture); return null; } catch (e) { return e as Error & { code: string }; } })();
      expect(err?.code).toBe('import_duplicate');
      expect(err?.message).toContain(`film ${first.filmId}`);
      expect(err?.message).toContain('--as-new');
      expect(listFilms(p.db)).toHaveLength(1);

      // Same content with other whitespace is the same film.
      const text = readFileSync(storyFixture, 'utf8');
      expect(() => importStoryJsText(p, JSON.stringify(JSON.parse(text)), 'compact.json')).toThrow(/already imported/);

      const again = importStoryJsFile(p, storyFixture, { asNew: true });
      expect(again.filmId).not.toBe(first.filmId);
      expect(listFilms(p.db)).toHaveLength(2);

      // Different content is a different film.
      const changed = JSON.parse(text) as { overview: string };
      changed.overview += ' (director\'s cut)';
      expect(importStoryJsText(p, JSON.stringify(changed), 'cut.json').filmId).toBeGreaterThan(again.filmId);
    } finally {
      p.close();
    }
  });

  it('dreamframe import refuses a second import with a non-zero exit and accepts --as-new', () => {
    const dir = tmp();
    const project = join(dir, 'project');
    createProject(project).close();
    const file = join(dir, 'story.json');
    writeFileSync(file, readFileSync(storyFixture));
    const run = (...extra: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'dreamframe.js'), 'import', file, '--project', project, ...extra],
      { encoding: 'utf8', timeout: 120_000 });
    expect(run('--json').status).toBe(0);
    const second = run();
    expect(second.status).not.toBe(0);
    expect(second.stderr).toContain('import_duplicate');
    expect(second.stderr).toContain('--as-new');
    expect(run('--as-new', '--json').status).toBe(0);
    const p = openProject(project);
    try {
      expect(listFilms(p.db)).toHaveLength(2);
    } finally {
      p.close();
    }
  }, 120_000);
});
