import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { nextTick, ref } from 'vue';
import { ApiCallError, type ApiClient } from '../../src/shared/api/client';
import type { ConnectionStatus } from '../../src/renderer/src/api/setup';
import { installApi } from '../../src/renderer/src/api/current';
import { useAppStore } from '../../src/renderer/src/stores/app';
import { useCurationStore } from '../../src/renderer/src/stores/curation';
import { errorReporter } from '../../src/renderer/src/stores/errors';
import { useFilmsStore } from '../../src/renderer/src/stores/films';
import { useStoryboardStore } from '../../src/renderer/src/stores/storyboard';

/** The error helper every store uses, and stores holding (and releasing) their own event subscriptions. */

describe('errorReporter', () => {
  it('writes one sentence, clears only its own failure, and never a confirmation', async () => {
    const field = ref<string | null>(null);
    const report = errorReporter(field);
    const failed = await report.attempt('save the frame', () => Promise.reject(new ApiCallError({ code: 'read_only', message: 'The project is read-only' })));
    expect(failed).toBeUndefined();
    expect(field.value).toBe('Could not save the frame: The project is read-only (read_only)');
    expect(await report.attempt('save the frame', async () => 7)).toBe(7);
    expect(field.value).toBeNull();

    await report.attempt('save the frame', () => Promise.reject(new Error('disk full')));
    field.value = 'Render job 3 queued';
    await report.attempt('save the frame', async () => 1);
    expect(field.value).toBe('Render job 3 queued');

    // Two reporters on one field: each clears only what it wrote.
    const other = errorReporter(field);
    other.fail('refresh the storyboard', new Error('offline'));
    report.clear();
    expect(field.value).toBe('Could not refresh the storyboard: offline');
    other.clear();
    expect(field.value).toBeNull();
  });
});

/** An API whose events and connection changes the test fires; it counts listeners and calls. */
function eventApi() {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const connectionListeners = new Set<(status: ConnectionStatus) => void>();
  const calls: string[] = [];
  const client: ApiClient = {
    call: ((method: string) => {
      calls.push(method);
      return new Promise(() => {}); // never answers: only which calls are made matters here
    }) as ApiClient['call'],
    on: ((event: string, listener: (payload: unknown) => void) => {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => set.delete(listener);
    }) as ApiClient['on'],
    assetUrl: (key) => key,
  };
  installApi({
    client, mode: 'serve', connection: () => ({ state: 'open', error: null, resumed: false }),
    onConnectionChange: (listener) => {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
  });
  const count = () => [...listeners.values()].reduce((n, s) => n + s.size, 0) + connectionListeners.size;
  const emit = (event: string, payload: unknown) => { for (const l of listeners.get(event) ?? []) l(payload); };
  const reconnect = () => { for (const l of connectionListeners) l({ state: 'open', error: null, resumed: true }); };
  return { calls, count, emit, reconnect };
}

describe('stores own their subscriptions', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('subscribe when created, react to events and reconnects, and let go when disposed', async () => {
    const api = eventApi();
    const films = useFilmsStore();
    const app = useAppStore();
    const storyboard = useStoryboardStore();
    const curation = useCurationStore();
    expect(api.count()).toBeGreaterThanOrEqual(8);
    void storyboard.open(1); // its answer never comes; the open film is what the curation store follows
    await nextTick();

    api.calls.length = 0;
    api.emit('data.changed', { filmId: 1, entities: [] });
    expect(api.calls).toContain('films.list');
    expect(api.calls).toContain('curation.history');

    api.calls.length = 0;
    api.emit('job.progress', { id: 4, kind: 'render', status: 'done', progress: 1, filmId: 1 });
    expect(app.jobs.map((j) => j.id)).toEqual([4]);
    // A finished render of the open film refreshes the curation lists.
    expect(api.calls).toContain('curation.history');

    api.calls.length = 0;
    curation.notice = 'Could not search: The connection was lost';
    api.reconnect();
    expect(api.calls).toEqual(expect.arrayContaining(['films.list', 'jobs.list', 'curation.history']));
    expect(curation.notice).toBeNull();

    for (const store of [films, app, storyboard, curation]) store.$dispose();
    expect(api.count()).toBe(0);
    api.calls.length = 0;
    api.emit('data.changed', { filmId: null, entities: [] });
    api.reconnect();
    expect(api.calls).toEqual([]);
  });
});
