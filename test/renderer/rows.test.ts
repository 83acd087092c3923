import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storyboard } from '../../src/shared/api/entities';
import { FilmDocument } from '../../src/shared/film-document';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { dispatch } from '../../src/main/api/dispatch';
import { importStoryJsFile } from '../../src/main/import/story-js';
import { buildStoryIndex, moveFocus, type StoryIndex } from '../../src/renderer/src/storyboard/rows';
import { dreamframeFixtureDir, repoRoot } from '../support/paths';

/**
 * The storyboard's row model, fed with real storyboards from the project database (the sample film
 * and the imported story_js fixture) and checked against the source documents' own order.
 */

const sample = FilmDocument.parse(JSON.parse(readFileSync(resolve(repoRoot, 'resources/sample/film.json'), 'utf8')));
const storyJs = JSON.parse(readFileSync(join(dreamframeFixtureDir, 'story_info_0.json'), 'utf8')) as { img_diag: [string, string][] };

let dir = '';
let context: AppContext;
let sampleBoard: Storyboard;
let bigBoard: Storyboard;

async function storyboard(filmId: number): Promise<Storyboard> {
  const out = await dispatch(context, 'films.storyboard', { filmId });
  if (!out.ok) throw new Error(out.error.message);
  return out.result as Storyboard;
}

/** The story as the list shows it, top to bottom: frames and dialogue lines in reading order. */
function readingOrder(index: StoryIndex): { kind: 'frame' | 'dialogue'; text: string }[] {
  return index.rows.flatMap((row) => {
    if (row.kind === 'chapter') return [];
    if (row.kind === 'subchapter') return row.leadingDialogue.map((d) => ({ kind: 'dialogue' as const, text: d.text }));
    return [{ kind: 'frame' as const, text: row.frame.description }, ...row.dialogue.map((d) => ({ kind: 'dialogue' as const, text: d.text }))];
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dreamframe-rows-'));
  const project = createProjectWithSample(join(dir, 'p'), true);
  const report = importStoryJsFile(project, join(dreamframeFixtureDir, 'story_info_0.json'));
  context = createAppContext('test', project);
  const films = await dispatch(context, 'films.list', {});
  if (!films.ok) throw new Error(films.error.message);
  const sampleId = (films.result as { id: number; source: string }[]).find((f) => f.source === 'sample')!.id;
  sampleBoard = await storyboard(sampleId);
  bigBoard = await storyboard(report.filmId);
});

afterAll(async () => {
  await context?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('buildStoryIndex', () => {
  it('reproduces the sample document: headers, frames and dialogue in reading order', () => {
    const index = buildStoryIndex(sampleBoard);
    const expected = sample.chapters.flatMap((c) => c.subchapters.flatMap((s) =>
      s.items.map((i) => (i.type === 'frame' ? { kind: 'frame', text: i.description } : { kind: 'dialogue', text: i.text }))));
    expect(readingOrder(index)).toEqual(expected);
    expect(index.rows.filter((r) => r.kind === 'chapter').map((r) => r.kind === 'chapter' && r.chapter.title))
      .toEqual(sample.chapters.map((c) => c.title));
    expect(index.rows.filter((r) => r.kind === 'subchapter')).toHaveLength(6);
    // QA lands on the level it belongs to.
    expect(index.filmQa.map((q) => q.question)).toEqual(sample.qa.map((q) => q.question));
    for (const row of index.rows) {
      if (row.kind === 'chapter') expect(row.qa.map((q) => q.question)).toEqual(sample.chapters[row.number - 1].qa.map((q) => q.question));
      if (row.kind === 'subchapter') {
        expect(row.qa.map((q) => q.question)).toEqual(sample.chapters[row.chapterNumber - 1].subchapters[row.number - 1].qa.map((q) => q.question));
      }
    }
    const labels = index.rows.flatMap((r) => (r.kind === 'frame' ? [r.label] : []));
    expect(labels.slice(0, 5)).toEqual(['1.1.1', '1.1.2', '1.1.3', '1.1.4', '1.2.1']);
    expect(index.subchapterStarts).toEqual([0, 4, 8, 12, 16, 20]);
    expect(index.chapterStarts).toEqual([0, 8, 16]);
  });

  it('keeps the imported story_js interleaving of 1,331 frames and 650 lines exactly', () => {
    const index = buildStoryIndex(bigBoard);
    const order = readingOrder(index);
    expect(order.map((o) => o.kind)).toEqual(storyJs.img_diag.map(([kind]) => kind));
    const lines = storyJs.img_diag.filter(([kind]) => kind === 'dialogue').map(([, text]) => text.trim());
    expect(order.filter((o) => o.kind === 'dialogue').map((o) => o.text.trim())).toEqual(lines);
    expect(index.frameRows).toHaveLength(1331);
    // Every frame row's ordinal is its position in frameRows, and ids map back to ordinals.
    index.frameRows.forEach((rowIndex, ordinal) => {
      const row = index.rows[rowIndex];
      expect(row.kind === 'frame' && row.ordinal).toBe(ordinal);
      if (row.kind === 'frame') expect(index.frameOrdinalById.get(row.frame.id)).toBe(ordinal);
    });
  });

  it('puts a line whose afterFrame exceeds the frame count after the last frame', () => {
    const sub = sampleBoard.subchapters[0];
    const frames = sampleBoard.frames.filter((f) => f.subchapterId === sub.id);
    const stray = { ...sampleBoard.dialogue[0], id: 999_999, subchapterId: sub.id, afterFrame: frames.length + 3, seq: 99, text: 'stray' };
    const index = buildStoryIndex({ ...sampleBoard, dialogue: [...sampleBoard.dialogue, stray] });
    const lastOfSub = index.rows[index.frameRows[frames.length - 1]];
    expect(lastOfSub.kind === 'frame' && lastOfSub.dialogue.map((d) => d.text).at(-1)).toBe('stray');
  });
});

describe('moveFocus', () => {
  it('moves by frame, subchapter and chapter, clamped at both ends', () => {
    const index = buildStoryIndex(sampleBoard);
    expect(moveFocus(index, 0, 'prev')).toBe(0);
    expect(moveFocus(index, 0, 'next')).toBe(1);
    expect(moveFocus(index, 23, 'next')).toBe(23);
    expect(moveFocus(index, 5, 'nextSub')).toBe(8);
    expect(moveFocus(index, 5, 'prevSub')).toBe(4); // start of the current subchapter first
    expect(moveFocus(index, 4, 'prevSub')).toBe(0);
    expect(moveFocus(index, 3, 'nextChapter')).toBe(8);
    expect(moveFocus(index, 17, 'prevChapter')).toBe(16);
    expect(moveFocus(index, 16, 'prevChapter')).toBe(8);
    expect(moveFocus(index, 20, 'nextSub')).toBe(23); // no next subchapter: the last frame
    expect(moveFocus(index, 9, 'first')).toBe(0);
    expect(moveFocus(index, 9, 'last')).toBe(23);
  });
});
