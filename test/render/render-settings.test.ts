import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderMethods } from '../../src/shared/api/methods-render';
import { createProjectWithSample } from '../../src/main/app/context';
import { MAX_MEMORY_ENV } from '../../src/main/diffusion/memory-estimate';
import { getRenderSettings, renderSettingsView, setRenderSettings } from '../../src/main/render/settings';
import { listFilms } from '../../src/main/story/film-reader';
import { startServer } from '../../src/main/transports/server';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { TestWsClient } from '../support/ws-client';

const model = join(tinySd15Dir, 'pipeline');

describe('render settings: the size follows the model unless the film sets it', () => {
  const tmp = useTempDir();
  const envBefore = process.env[MAX_MEMORY_ENV];
  afterEach(() => {
    if (envBefore === undefined) delete process.env[MAX_MEMORY_ENV];
    else process.env[MAX_MEMORY_ENV] = envBefore;
  });

  it('a new film has no size; it resolves to the model\'s native 64×64, a set value is the film\'s, null goes back', () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    expect(getRenderSettings(p.db, filmId)).toMatchObject({ width: null, height: null, steps: 40, guidance: 5 });
    expect(renderSettingsView(getRenderSettings(p.db, filmId)).resolved)
      .toEqual({ width: null, height: null, widthSource: 'model', heightSource: 'model', nativeSize: null, note: 'no model chosen yet' });

    setRenderSettings(p.db, filmId, { model });
    expect(renderSettingsView(getRenderSettings(p.db, filmId)).resolved)
      .toEqual({ width: 64, height: 64, widthSource: 'model', heightSource: 'model', nativeSize: 64, note: null });
    setRenderSettings(p.db, filmId, { width: 32 });
    expect(renderSettingsView(getRenderSettings(p.db, filmId)).resolved)
      .toMatchObject({ width: 32, height: 64, widthSource: 'film', heightSource: 'model' });
    setRenderSettings(p.db, filmId, { width: null });
    expect(getRenderSettings(p.db, filmId)).toMatchObject({ model, width: null, height: null });

    setRenderSettings(p.db, filmId, { model: join(tmp(), 'nowhere') });
    const missing = renderSettingsView(getRenderSettings(p.db, filmId)).resolved;
    expect(missing.nativeSize).toBeNull();
    expect(missing.note).toMatch(/nowhere: model folder does not exist/);
    p.close();
  });

  it('rows written before sizes could be unset: 1024×1024 (the old default, written for every film) reads as unset, another size stays', () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    const write = (settings: object) => p.db.prepare('INSERT OR REPLACE INTO render_settings (film_id, settings_json) VALUES (?, ?)')
      .run(filmId, JSON.stringify(settings));
    const legacy = { model, refiner: null, refinerStart: 0.75, scheduler: 'euler', steps: 40, guidance: 5, negativePrompt: null, embedding: null, baseSeed: 20, variants: 1 };
    write({ ...legacy, width: 1024, height: 1024 });
    expect(getRenderSettings(p.db, filmId)).toMatchObject({ model, width: null, height: null });
    write({ ...legacy, width: 768, height: 512 });
    expect(getRenderSettings(p.db, filmId)).toMatchObject({ width: 768, height: 512 });
    // Written now, 1024×1024 is a choice and stays one.
    setRenderSettings(p.db, filmId, { width: 1024, height: 1024 });
    expect(getRenderSettings(p.db, filmId)).toMatchObject({ width: 1024, height: 1024 });
    p.close();
  });

  it('a render.setSettings patch names only what it changes (the other fields keep their values)', () => {
    const input = renderMethods['render.setSettings'].input.parse({ filmId: 1, settings: { steps: 2 } });
    expect(input.settings).toEqual({ steps: 2 });
    expect(renderMethods['render.setSettings'].input.parse({ filmId: 1, settings: { width: null } }).settings).toEqual({ width: null });
    expect(renderMethods['render.setSettings'].input.safeParse({ filmId: 1, settings: { width: 4 } }).success).toBe(false);
  });

  it('over the API: getSettings says where the size comes from, and render.start refuses a size the machine cannot hold', async () => {
    const dir = join(tmp(), 'p');
    createProjectWithSample(dir, true).close();
    process.env[MAX_MEMORY_ENV] = '64';
    const server = await startServer({ projectDir: dir, port: 0 });
    const ws = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    try {
      const [film] = await ws.call('films.list');
      const set = await ws.call('render.setSettings', { filmId: film.id, settings: { model } });
      expect(set.resolved).toEqual({ width: 64, height: 64, widthSource: 'model', heightSource: 'model', nativeSize: 64, note: null });
      await ws.call('render.setSettings', { filmId: film.id, settings: { steps: 2 } });
      const got = await ws.call('render.getSettings', { filmId: film.id });
      expect(got).toMatchObject({ model, steps: 2, width: null, resolved: { width: 64, widthSource: 'model' } });

      await ws.call('render.setSettings', { filmId: film.id, settings: { width: 1024, height: 1024 } });
      const refused = await ws.request('render.start', { filmId: film.id, scope: { kind: 'film' } });
      expect(refused.error.code).toBe('diffusion.too_large');
      expect(refused.error.message).toMatch(/^1024×1024 on this model needs about 256 GiB; its native size is 64×64 \(.*the DREAMFRAME_MAX_MEMORY_GIB limit of 64 GiB\)\.$/);
      expect(await ws.call('jobs.list', {})).toEqual([]);
    } finally {
      ws.close();
      await server.close();
    }
  });
});
