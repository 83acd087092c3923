import { describe, expect, it } from 'vitest';
import { ApiCallError, type ApiClient } from '../../src/shared/api/client';
import { ElectronApiClient } from '../../src/renderer/src/api/electron-client';

/** A stand-in for the preload bridge that behaves like src/preload/index.ts across contextBridge. */
function bridge(fail: unknown): ApiClient & { seen: [string, unknown][]; emit: (e: string, p: unknown) => void } {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const seen: [string, unknown][] = [];
  return {
    seen,
    emit: (e, p) => listeners.get(e)?.forEach((l) => l(p)),
    call: (async (method: string, input: unknown) => {
      seen.push([method, input]);
      if (fail !== undefined) throw fail;
      return [];
    }) as ApiClient['call'],
    on: ((event: string, listener: (p: unknown) => void) => {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set.add(listener));
      return () => set.delete(listener);
    }) as ApiClient['on'],
    assetUrl: (key, variant = 'thumb') => `dreamframe-media://${variant}/${key}`,
  };
}

describe('ElectronApiClient', () => {
  it('passes calls, events and media keys through to the bridge', async () => {
    const b = bridge(undefined);
    const c = new ElectronApiClient(b);
    await expect(c.call('films.list', {})).resolves.toEqual([]);
    expect(b.seen).toEqual([['films.list', {}]]);
    const got: unknown[] = [];
    const off = c.on('job.progress', (p) => got.push(p));
    b.emit('job.progress', { id: 1 });
    off();
    b.emit('job.progress', { id: 2 });
    expect(got).toEqual([{ id: 1 }]);
    expect(c.assetUrl('frame/3?v=9')).toBe('dreamframe-media://thumb/frame/3?v=9');
  });

  it('turns the plain error objects that cross contextBridge back into ApiCallError', async () => {
    const c = new ElectronApiClient(bridge({ name: 'ApiCallError', code: 'not_found', message: 'No film 9', details: { filmId: 9 } }));
    const err = await c.call('films.get', { filmId: 9 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiCallError);
    expect(err).toMatchObject({ code: 'not_found', message: 'No film 9', details: { filmId: 9 } });
    const odd = await new ElectronApiClient(bridge('boom')).call('films.list', {}).catch((e: unknown) => e);
    expect(odd).toMatchObject({ code: 'internal', message: 'boom' });
  });
});
