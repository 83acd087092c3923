import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { ApiCallError, type ApiClient } from '../../src/shared/api/client';
import type { Storyboard } from '../../src/shared/api/entities';
import { FilmDocument } from '../../src/shared/film-document';
import { installApi } from '../../src/renderer/src/api/current';
import { useStoryboardStore } from '../../src/renderer/src/stores/storyboard';
import { repoRoot } from '../support/paths';

/**
 * The storyboard store against a scripted ApiClient: storyboards are built from the sample film
 * document, and each call's answer is released by the test so races can be staged.
 */

const doc = FilmDocument.parse(JSON.parse(readFileSync(resolve(repoRoot, 'resources/sample/film.json'), 'utf8')));

function boardFromDocument(): Storyboard {
  let id = 1;
  const now = '2026-01-01T00:00:00Z';
  const board: Storyboard = {
    film: {
      id: 1, title: doc.title, theme: doc.theme, styleKeyword: doc.styleKeyword, source: 'sample', structure: 'hierarchical',
      counts: { chapters: 0, subchapters: 0, frames: 0, dialogueLines: 0, qaPairs: 0, characters: 0 },
      createdAt: now, updatedAt: now, overview: doc.overview, styleDescription: doc.styleDescription, locations: doc.locations, generation: {},
    },
    characters: [], chapters: [], subchapters: [], frames: [], dialogue: [], qa: [],
  };
  doc.chapters.forEach((c, ci) => {
    const chapterId = id++;
    board.chapters.push({ id: chapterId, position: ci, title: c.title, scene: c.scene, summary: c.summary });
    c.subchapters.forEach((s, si) => {
      const subchapterId = id++;
      board.subchapters.push({ id: subchapterId, chapterId, position: si, title: s.title, scene: s.scene, summary: s.summary });
      let frames = 0;
      s.items.forEach((item, seq) => {
        if (item.type === 'frame') {
          board.frames.push({
            id: id++, subchapterId, position: frames++, description: item.description, scene: item.scene,
            review: { state: 'draft', note: null }, stale: false, thumbnail: { kind: 'placeholder', key: `frame/${id}` },
          });
        } else {
          board.dialogue.push({ id: id++, subchapterId, afterFrame: frames, seq, speaker: item.speaker, text: item.text, review: { state: 'draft', note: null } });
        }
      });
    });
  });
  return board;
}

interface Call { method: string; input: unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }

function scriptedApi() {
  const calls: Call[] = [];
  const client: ApiClient = {
    call: ((method: string, input: unknown) => new Promise((resolve, reject) => calls.push({ method, input, resolve: resolve as (v: unknown) => void, reject }))) as ApiClient['call'],
    on: () => () => {},
    assetUrl: (key) => key,
  };
  installApi({ client, mode: 'serve', onConnectionChange: () => () => {}, connection: () => ({ state: 'open', error: null, resumed: false }) });
  const next = async (method: string): Promise<Call> => {
    await expect.poll(() => calls.some((c) => c.method === method)).toBe(true);
    return calls.splice(calls.findIndex((c) => c.method === method), 1)[0];
  };
  return { calls, next };
}

/** A store with film 1 opened on the scripted API, its first storyboard fetch answered. */
async function opened() {
  const api = scriptedApi();
  const store = useStoryboardStore();
  const board = boardFromDocument();
  const opening = store.open(1);
  (await api.next('films.storyboard')).resolve(board);
  await opening;
  return { api, store, board };
}

describe('storyboard store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('keeps the focus the user moved to while a refetch was under way', async () => {
    const { api, store, board } = await opened();
    store.move('last');
    const reloading = store.reload();
    const pending = await api.next('films.storyboard');
    store.move('first');
    store.move('next');
    pending.resolve({ ...board, frames: board.frames.map((f) => ({ ...f })) });
    await reloading;
    expect(store.focused).toBe(1);
    expect(store.focusedRow?.frame.description).toBe(board.frames[1].description);
  });

  it('clears a failed refresh notice once a later refresh succeeds, but keeps other notices', async () => {
    const { api, store, board } = await opened();
    const failing = store.reload();
    (await api.next('films.storyboard')).reject(new ApiCallError({ code: 'connection_lost', message: 'The connection was lost' }));
    await failing;
    expect(store.notice).toMatch(/Could not refresh the storyboard: The connection was lost/);
    const succeeding = store.reload();
    (await api.next('films.storyboard')).resolve(board);
    await succeeding;
    expect(store.notice).toBeNull();
    store.notice = 'Undid: Edit frame 3';
    const again = store.reload();
    (await api.next('films.storyboard')).resolve(board);
    await again;
    expect(store.notice).toBe('Undid: Edit frame 3');
  });

  it('follows the focused frame by id when a refetch reorders frames', async () => {
    const { api, store, board } = await opened();
    store.focusOrdinal(2);
    const focusedId = store.focusedRow!.frame.id;
    // The first subchapter's frames come back in reverse order (as after a reorder edit).
    const firstSub = board.subchapters[0].id;
    const n = board.frames.filter((f) => f.subchapterId === firstSub).length;
    const reordered = board.frames.map((f) => (f.subchapterId === firstSub ? { ...f, position: n - 1 - f.position } : f));
    const reloading = store.reload();
    (await api.next('films.storyboard')).resolve({ ...board, frames: reordered });
    await reloading;
    expect(store.focusedRow?.frame.id).toBe(focusedId);
    expect(store.focused).toBe(n - 1 - 2);
  });

  it('shows a review state at once and rolls it back when the server refuses it', async () => {
    const api = scriptedApi();
    const store = useStoryboardStore();
    const opening = store.open(1);
    (await api.next('films.storyboard')).resolve(boardFromDocument());
    await opening;
    const id = store.focusedRow!.frame.id;
    const ok = store.setReview([id], 'approved');
    expect(store.focusedRow?.frame.review.state).toBe('approved');
    const okCall = await api.next('review.set');
    expect(okCall.input).toEqual({ items: [{ type: 'frame', id }], state: 'approved' });
    okCall.resolve({ updated: 1 });
    await ok;

    const refused = store.setReview([id], 'rejected');
    expect(store.focusedRow?.frame.review.state).toBe('rejected');
    (await api.next('review.set')).reject(new ApiCallError({ code: 'read_only', message: 'The project is read-only' }));
    await refused;
    expect(store.focusedRow?.frame.review.state).toBe('approved');
    expect(store.notice).toContain('The project is read-only (read_only)');
  });
});

/** Lets pending promise callbacks and timers run, so a call the store would make has been made. */
const settle = () => new Promise((r) => setTimeout(r, 10));

describe('storyboard store: refresh on data.changed', () => {
  beforeEach(() => setActivePinia(createPinia()));

  const changed = (entities: { type: 'frame' | 'dialogue' | 'qa' | 'render' | 'style' | 'subchapter' | 'film'; ids: number[] }[], filmId: number | null = 1) =>
    ({ filmId, entities });

  it('fetches only the named frames and lines and patches them in, leaving every other item as it was', async () => {
    const { api, store, board } = await opened();
    const [f1, f2] = [board.frames[3], board.frames[7]];
    const line = board.dialogue[2];
    store.onDataChanged(changed([{ type: 'frame', ids: [f1.id, f2.id] }, { type: 'dialogue', ids: [line.id] }]));
    const call = await api.next('films.storyboardItems');
    expect(call.input).toEqual({ filmId: 1, frames: [f1.id, f2.id], dialogue: [line.id], qa: [] });
    call.resolve({
      film: board.film,
      frames: [{ ...f2, review: { state: 'approved', note: null } }, { ...f1, description: 'Edited elsewhere' }],
      dialogue: [{ ...line, text: 'New words' }],
      qa: [],
    });
    await settle();
    expect(api.calls).toEqual([]);
    const now = store.board!;
    expect(now.frames[3].description).toBe('Edited elsewhere');
    expect(now.frames[7].review.state).toBe('approved');
    expect(now.dialogue[2].text).toBe('New words');
    // Untouched items are the very objects of the board before: nothing else was refetched.
    now.frames.forEach((f, i) => { if (i !== 3 && i !== 7) expect(f).toBe(board.frames[i]); });
    now.dialogue.forEach((d, i) => { if (i !== 2) expect(d).toBe(board.dialogue[i]); });
    expect(now.chapters).toBe(board.chapters);
  });

  it('refetches the whole film for events that do not say which items changed, or name structure', async () => {
    const { api, store, board } = await opened();
    for (const payload of [
      changed([{ type: 'frame', ids: [] }]),
      changed([{ type: 'subchapter', ids: [board.subchapters[0].id] }, { type: 'frame', ids: [board.frames[0].id] }]),
      changed([{ type: 'film', ids: [1] }]),
      changed([{ type: 'render', ids: [5] }]),
      changed([{ type: 'film', ids: [] }], null),
    ]) {
      store.onDataChanged(payload);
      (await api.next('films.storyboard')).resolve(board);
      await settle();
      expect(api.calls).toEqual([]);
    }
  });

  it('ignores changes of other films and of the style, which the storyboard does not show', async () => {
    const { api, store, board } = await opened();
    store.onDataChanged(changed([{ type: 'frame', ids: [board.frames[0].id] }], 2));
    store.onDataChanged(changed([{ type: 'style', ids: [3] }]));
    await settle();
    expect(api.calls).toEqual([]);
  });

  it('a frame and its new render are patched as the frame', async () => {
    const { api, store, board } = await opened();
    const f = board.frames[1];
    store.onDataChanged(changed([{ type: 'frame', ids: [f.id] }, { type: 'render', ids: [9] }]));
    const call = await api.next('films.storyboardItems');
    expect(call.input).toMatchObject({ frames: [f.id] });
    call.resolve({ film: board.film, frames: [{ ...f, thumbnail: { kind: 'render', key: `frame/${f.id}?v=abc` } }], dialogue: [], qa: [] });
    await settle();
    expect(store.board!.frames[1].thumbnail.key).toBe(`frame/${f.id}?v=abc`);
    expect(api.calls).toEqual([]);
  });

  it('falls back to the whole film when a named item was deleted, inserted or moved', async () => {
    const { api, store, board } = await opened();
    const f = board.frames[2];
    const cases = [
      { film: board.film, frames: [], dialogue: [], qa: [] }, // deleted
      { film: board.film, frames: [{ ...f, position: f.position + 1 }], dialogue: [], qa: [] }, // moved
    ];
    for (const answer of cases) {
      store.onDataChanged(changed([{ type: 'frame', ids: [f.id] }]));
      (await api.next('films.storyboardItems')).resolve(answer);
      (await api.next('films.storyboard')).resolve(board);
      await settle();
      expect(api.calls).toEqual([]);
    }
    // Inserted: an id the board does not hold yet.
    const fresh = { ...f, id: 9999 };
    store.onDataChanged(changed([{ type: 'frame', ids: [9999] }]));
    (await api.next('films.storyboardItems')).resolve({ film: board.film, frames: [fresh], dialogue: [], qa: [] });
    const full = await api.next('films.storyboard');
    full.resolve({ ...board, frames: [...board.frames, fresh] });
    await settle();
    expect(store.board!.frames.at(-1)!.id).toBe(9999);
  });

  it('merges events that arrive during a request into one request after it', async () => {
    const { api, store, board } = await opened();
    const [a, b, c] = [board.frames[0], board.frames[1], board.frames[2]];
    store.onDataChanged(changed([{ type: 'frame', ids: [a.id] }]));
    const first = await api.next('films.storyboardItems');
    store.onDataChanged(changed([{ type: 'frame', ids: [b.id] }]));
    store.onDataChanged(changed([{ type: 'frame', ids: [c.id, b.id] }, { type: 'dialogue', ids: [board.dialogue[0].id] }]));
    await settle();
    expect(api.calls).toEqual([]);
    first.resolve({ film: board.film, frames: [a], dialogue: [], qa: [] });
    const second = await api.next('films.storyboardItems');
    expect(second.input).toEqual({ filmId: 1, frames: [b.id, c.id], dialogue: [board.dialogue[0].id], qa: [] });
    second.resolve({ film: board.film, frames: [b, c], dialogue: [board.dialogue[0]], qa: [] });
    await settle();
    expect(api.calls).toEqual([]);

    // A whole-film refresh asked for meanwhile absorbs item patches.
    store.onDataChanged(changed([{ type: 'frame', ids: [a.id] }]));
    const third = await api.next('films.storyboardItems');
    store.onDataChanged(changed([{ type: 'frame', ids: [b.id] }]));
    const reloading = store.reload();
    third.resolve({ film: board.film, frames: [a], dialogue: [], qa: [] });
    (await api.next('films.storyboard')).resolve(board);
    await reloading;
    await settle();
    expect(api.calls).toEqual([]);
  });

  it('after a failed patch the next change refetches the whole film', async () => {
    const { api, store, board } = await opened();
    store.onDataChanged(changed([{ type: 'frame', ids: [board.frames[0].id] }]));
    (await api.next('films.storyboardItems')).reject(new ApiCallError({ code: 'connection_lost', message: 'The connection was lost' }));
    await settle();
    expect(store.notice).toMatch(/Could not refresh the storyboard/);
    store.onDataChanged(changed([{ type: 'frame', ids: [board.frames[1].id] }]));
    (await api.next('films.storyboard')).resolve(board);
    await settle();
    expect(store.notice).toBeNull();
    expect(api.calls).toEqual([]);
  });
});
