import { lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../../src/main/export/exporter';
import { ExportFolder, safeSegment } from '../../src/main/export/safe-paths';
import { importFilmDocumentFile } from '../../src/main/import/film-document';
import { createProject, type Project } from '../../src/main/project/project';
import { getStoryboard } from '../../src/main/story/film-reader';
import { resourcesDir } from '../../src/main/util/resources';
import { itemIds, review } from './helpers';

const HOSTILE = [
  '../../../escape',
  '..',
  '/etc/passwd',
  'C:\\Windows\\System32',
  'nul\0byte/../../x',
  'CON',
  '.hidden',
  'ünïcødé-'.repeat(40),
  '🎬'.repeat(200),
];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    return e.isDirectory() ? [full, ...walk(full)] : [full];
  });
}

describe('safe export paths', () => {
  it('reduces hostile names to one harmless, bounded path segment', () => {
    const seen = new Set<string>();
    for (const name of HOSTILE) {
      const s = safeSegment(name);
      expect(s.length).toBeGreaterThan(0);
      expect(s).not.toMatch(/[/\\\0]/);
      expect(s).not.toMatch(/^\./);
      expect(['.', '..', 'CON']).not.toContain(s);
      expect(Buffer.byteLength(s)).toBeLessThanOrEqual(96);
      expect(safeSegment(s)).toBe(s);
      seen.add(s);
    }
    expect(seen.size).toBe(HOSTILE.length);
    // long names that share their first 96 bytes stay distinct
    expect(safeSegment(`${'é'.repeat(100)}a`)).not.toBe(safeSegment(`${'é'.repeat(100)}b`));
  });

  it('keeps every joined path inside the folder and refuses symlinks that lead out', () => {
    const base = mkdtempSync(join(tmpdir(), 'df-safe-'));
    try {
      const folder = new ExportFolder(join(base, 'out'));
      for (const name of HOSTILE) {
        const target = folder.path(`videos/${name}/${name}.mp4`);
        expect(target.startsWith(folder.root + sep)).toBe(true);
      }
      expect(() => folder.path('')).toThrow(/Empty export path/);
      mkdirSync(join(base, 'elsewhere'));
      symlinkSync(join(base, 'elsewhere'), join(folder.root, 'link'));
      expect(() => folder.path('link/file.json')).toThrow(expect.objectContaining({ code: 'export_path_escape' }));
      expect(() => new ExportFolder('a\0b')).toThrow(expect.objectContaining({ code: 'export_bad_folder' }));
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('exports of films with hostile titles', () => {
  let base: string;
  let p: Project;

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'df-hostile-'));
    p = createProject(join(base, 'project'));
    for (const title of HOSTILE.slice(0, 5).concat(HOSTILE.slice(7))) {
      const { filmId } = importFilmDocumentFile(p, join(resourcesDir(), 'sample', 'film.json'));
      p.db.prepare('UPDATE film SET title = ? WHERE id = ?').run(title, filmId);
      // approve one subchapter's frames and all QA, so clips stay tiny
      const board = getStoryboard(p.db, filmId);
      review(p, 'frame', board.frames.filter((f) => f.subchapterId === board.subchapters[0].id).map((f) => f.id), 'approved');
      review(p, 'qa', itemIds(p, filmId, 'qa'), 'approved');
    }
  });
  afterAll(() => {
    p.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('writes every format only inside the export folder', async () => {
    const out = join(base, 'out');
    for (const format of ['llama-vid', 'story-js', 'jsonl', 'video-chatgpt'] as const) {
      await runExport(p, { format, outDir: out, maxSize: 16, allowPlaceholders: true });
    }
    expect(readdirSync(base).sort()).toEqual(['out', 'project']);
    const root = realpathSync(out);
    const files = walk(out);
    expect(files.filter((f) => f.endsWith('.mp4')).length).toBeGreaterThanOrEqual(7 * 3);
    for (const f of files) {
      expect(realpathSync(f).startsWith(root + sep)).toBe(true);
      expect(lstatSync(f).isSymbolicLink()).toBe(false);
      expect(Buffer.byteLength(f.slice(root.length + 1).split(sep).pop()!)).toBeLessThanOrEqual(96);
    }
    const storyFiles = readdirSync(join(out, 'story_js'));
    expect(storyFiles).toHaveLength(7);
    expect(storyFiles.every((n) => n.startsWith('film-'))).toBe(true);
  }, 120_000);
});
