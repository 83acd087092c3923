import { afterEach, describe, expect, it } from 'vitest';
import type { EventPayload } from '../../src/shared/api/contract';
import { dispatch } from '../../src/main/api/dispatch';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { getFilmDetail, getStoryboard, listFilms } from '../../src/main/story/film-reader';
import { useTempDir } from '../support/tmp';

/**
 * Outline edits go through the edit log like every other curator edit, and the two methods that show
 * a frame's prompt compute it with the same function.
 */

const tempDir = useTempDir();
let ctx: AppContext | null = null;
afterEach(async () => { await ctx?.close(); ctx = null; });

function open(): { ctx: AppContext; filmId: number; changes: EventPayload<'data.changed'>[] } {
  ctx = createAppContext('test', createProjectWithSample(tempDir(), true));
  const changes: EventPayload<'data.changed'>[] = [];
  ctx.events.onAny((name, payload) => { if (name === 'data.changed') changes.push(payload as EventPayload<'data.changed'>); });
  return { ctx, filmId: listFilms(ctx.requireProject().db)[0].id, changes };
}

async function call(c: AppContext, method: string, input: unknown): Promise<any> {
  const out = await dispatch(c, method, input);
  if (!out.ok) throw new Error(`${method}: ${out.error.code} ${out.error.message}`);
  return out.result;
}

describe('plot.outline.update', () => {
  it('is undoable and redoable, and announces the row it changed', async () => {
    const { ctx: c, filmId, changes } = open();
    const chapter = getFilmDetail(c.requireProject().db, filmId).chapters[1];
    await call(c, 'plot.outline.update', { type: 'chapter', id: chapter.id, summary: 'A new summary', title: 'New title' });
    expect(changes.at(-1)).toEqual({ filmId, entities: [{ type: 'chapter', ids: [chapter.id] }] });
    // Named as the storyboard numbers it (the second chapter), not by database id.
    expect(await call(c, 'curation.history', { filmId })).toEqual({ undo: 'Edit chapter 2', redo: null });

    const undone = await call(c, 'edits.undo', { filmId });
    expect(undone.edit.label).toBe('Edit chapter 2');
    const restored = getFilmDetail(c.requireProject().db, filmId).chapters[1];
    expect([restored.title, restored.summary]).toEqual([chapter.title, chapter.summary]);
    expect(changes.at(-1)).toEqual({ filmId, entities: [{ type: 'chapter', ids: [chapter.id] }] });

    await call(c, 'edits.redo', { filmId });
    const redone = getFilmDetail(c.requireProject().db, filmId).chapters[1];
    expect([redone.title, redone.summary]).toEqual(['New title', 'A new summary']);
  });

  it('undoes a subchapter edit, and an edit that changes nothing adds no undo step', async () => {
    const { ctx: c, filmId } = open();
    const sub = getStoryboard(c.requireProject().db, filmId).subchapters[0];
    const same = await call(c, 'plot.outline.update', { type: 'subchapter', id: sub.id, scene: sub.scene });
    expect(same.scene).toBe(sub.scene);
    expect((await call(c, 'curation.history', { filmId })).undo).toBeNull();
    await call(c, 'plot.outline.update', { type: 'subchapter', id: sub.id, scene: 'Somewhere else' });
    await call(c, 'edits.undo', { filmId });
    expect(getStoryboard(c.requireProject().db, filmId).subchapters[0].scene).toBe(sub.scene);
  });

  it('refuses an unknown row without writing anything', async () => {
    const { ctx: c, changes } = open();
    const out = await dispatch(c, 'plot.outline.update', { type: 'chapter', id: 999999, title: 'x' });
    expect(out.ok ? null : out.error).toMatchObject({ code: 'not_found', message: 'No chapter with id 999999' });
    expect(changes).toEqual([]);
  });
});

describe('frame prompt', () => {
  it('is the same in plot.framePrompt and render.prompt', async () => {
    const { ctx: c, filmId } = open();
    const frames = getStoryboard(c.requireProject().db, filmId).frames;
    for (const frame of [frames[0], frames[frames.length - 1]]) {
      const plot = await call(c, 'plot.framePrompt', { frameId: frame.id });
      const render = await call(c, 'render.prompt', { frameId: frame.id });
      expect(plot.prompt).toBe(render.prompt);
      expect(plot.prompt).toMatch(/^generate an image in \S+ style: /);
    }
  });

  it('uses the description alone for a film without a style keyword, in both methods', async () => {
    const { ctx: c, filmId } = open();
    const db = c.requireProject().db;
    db.prepare("UPDATE film SET style_keyword = '' WHERE id = ?").run(filmId);
    db.prepare('DELETE FROM character WHERE film_id = ?').run(filmId);
    const frame = getStoryboard(db, filmId).frames[0];
    const plot = await call(c, 'plot.framePrompt', { frameId: frame.id });
    const render = await call(c, 'render.prompt', { frameId: frame.id });
    expect(plot.prompt).toBe(frame.description.trim());
    expect(render.prompt).toBe(plot.prompt);
  });
});
