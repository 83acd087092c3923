import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPinia, setActivePinia } from 'pinia';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Storyboard } from '../../src/shared/api/entities';
import { dispatch } from '../../src/main/api/dispatch';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { getStoryboard } from '../../src/main/story/film-reader';
import { useStoryboardStore } from '../../src/renderer/src/stores/storyboard';
import { installInProcessApi } from './in-process-api';

/**
 * The storyboard store wired to the real API handlers and event bus (in process, no transport):
 * after each kind of edit, the board the store shows must equal a fresh read of the film, and
 * edits that name their items must not refetch the film.
 */

let dir: string;
let context: AppContext;
let filmId: number;
const called: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'df-storyboard-live-'));
  const project = createProjectWithSample(join(dir, 'p'), true);
  context = createAppContext('test', project);
  filmId = (project.db.prepare('SELECT id FROM film').get() as { id: number }).id;
});
afterAll(async () => {
  await context.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('storyboard store against the real handlers', () => {
  let store: ReturnType<typeof useStoryboardStore>;

  beforeEach(async () => {
    setActivePinia(createPinia());
    installInProcessApi(() => context, (m) => called.push(m));
    store = useStoryboardStore();
    await store.open(filmId);
    called.length = 0;
    // The store follows data.changed itself; disposing it unsubscribes.
    return () => store.$dispose();
  });

  const fresh = (): Storyboard => getStoryboard(context.requireProject().db, filmId);
  const call = async (method: string, input: unknown) => {
    const out = await dispatch(context, method, input);
    if (!out.ok) throw new Error(out.error.message);
    return out.result;
  };

  it('patches review states, field edits and undo without refetching the film', async () => {
    const board = fresh();
    await call('review.set', {
      items: [{ type: 'frame', id: board.frames[0].id }, { type: 'frame', id: board.frames[5].id },
        { type: 'dialogue', id: board.dialogue[1].id }, { type: 'qa', id: board.qa[2].id }],
      state: 'approved',
    });
    await call('frames.update', { frameId: board.frames[3].id, description: 'A lantern swings over the quay' });
    await call('qa.update', { id: board.qa[0].id, answer: 'Because the tide turned.' });
    await call('edits.undo', { filmId });
    await expect.poll(() => store.board).toEqual(fresh());
    expect(store.board!.frames[3].description).toBe('A lantern swings over the quay');
    expect(store.board!.frames[0].review.state).toBe('approved');
    expect(called).not.toContain('films.storyboard');
    expect(called).toContain('films.storyboardItems');
  });

  it('refetches the film after structure edits and still ends equal to it', async () => {
    const board = fresh();
    await call('curation.deleteFrame', { frameId: board.frames[1].id });
    await call('curation.moveFrame', { frameId: board.frames[4].id, toIndex: 0 });
    await call('curation.insertDialogue', { subchapterId: board.subchapters[0].id, afterFrame: 1, speaker: null, text: 'Hello there' });
    await expect.poll(() => store.board).toEqual(fresh());
    expect(store.board!.frames.map((f) => f.id)).not.toContain(board.frames[1].id);
    expect(called).toContain('films.storyboard');
  });
});
