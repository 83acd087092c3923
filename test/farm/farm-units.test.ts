import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { farmHandlers } from '../../src/main/farm/api-handlers';
import { maskRedisUrl, parseRedisUrl } from '../../src/main/farm/connection';
import { farmSettingsFile, readFarmSettings, resolveFarmUrl } from '../../src/main/farm/config';
import { PROTOCOL_VERSION, RenderTask, parseMessage } from '../../src/main/farm/messages';
import { modelFolderHash } from '../../src/main/farm/model-hash';
import { ModelIndex } from '../../src/main/farm/model-index';
import type { AppContext } from '../../src/main/app/context';
import { MANIFEST_FILE } from '../../src/main/models/library';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

/** The render farm's pieces that need no Redis: URL handling, the farm setting, message validation, model hashes. */

const tmp = useTempDir('dreamframe-farm-unit-');

describe('farm URL and setting', () => {
  const saved = { ...process.env };
  afterEach(() => { process.env = { ...saved }; });

  it('masks the password and refuses what is not a Redis URL', () => {
    expect(maskRedisUrl('redis://:s3cret@host:6379/1')).toBe('redis://:***@host:6379/1');
    expect(maskRedisUrl('redis://user:s3cret@host:6379')).toBe('redis://user:***@host:6379');
    expect(maskRedisUrl('redis://host:6379')).toBe('redis://host:6379');
    expect(() => parseRedisUrl('http://host:6379')).toThrow(/not a Redis URL/);
    expect(() => parseRedisUrl('redis://:pw@')).toThrow(/not a Redis URL/);
    try {
      parseRedisUrl('ftp://:topsecret@host');
    } catch (err) {
      expect((err as Error).message).not.toContain('topsecret');
    }
  });

  it('explicit URL, then DREAMFRAME_REDIS, then the app setting; the API keeps a masked password', async () => {
    const env = { DREAMFRAME_CONFIG_DIR: tmp() } as NodeJS.ProcessEnv;
    expect(resolveFarmUrl(undefined, env)).toBeNull();
    Object.assign(process.env, env);
    delete process.env.DREAMFRAME_REDIS;
    const ctx = {} as AppContext;
    expect(await farmHandlers['farm.settings.set'](ctx, { redis: 'redis://:pw1@farm:6379' })).toEqual({ redis: 'redis://:***@farm:6379', envOverride: false });
    expect(readFarmSettings(env).redis).toBe('redis://:pw1@farm:6379');
    expect(resolveFarmUrl(undefined, env)).toBe('redis://:pw1@farm:6379');
    // Saving the masked value back (the form shows it masked) keeps the real password.
    await farmHandlers['farm.settings.set'](ctx, { redis: 'redis://:***@farm:6379' });
    expect(readFarmSettings(env).redis).toBe('redis://:pw1@farm:6379');
    expect(resolveFarmUrl(undefined, { ...env, DREAMFRAME_REDIS: 'redis://env:1' })).toBe('redis://env:1');
    expect(resolveFarmUrl('redis://flag:2', { ...env, DREAMFRAME_REDIS: 'redis://env:1' })).toBe('redis://flag:2');
    await expect(async () => farmHandlers['farm.settings.set'](ctx, { redis: 'localhost:6379' })).rejects.toThrow(/not a Redis URL/);
    await farmHandlers['farm.settings.set'](ctx, { redis: '' });
    expect(resolveFarmUrl(undefined, env)).toBeNull();
    writeFileSync(farmSettingsFile(env), '{ not json');
    expect(() => readFarmSettings(env)).toThrow(/render-farm\.json: invalid JSON/);
  });
});

describe('render task validation', () => {
  const hash = 'a'.repeat(64);
  const task = {
    v: PROTOCOL_VERSION, batch: 'abcdef0123456789', frameId: 3, variant: 0, seed: 23, prompt: 'p', negativePrompt: 'n',
    settings: { modelHash: hash, refinerHash: null, refinerStart: 0.75, scheduler: 'euler', steps: 2, guidance: 3, width: 64, height: 64 },
    settingsHash: hash, embedding: null, queuedAt: 1,
  };

  it('accepts a well-formed task and names the field of a bad one', () => {
    expect(parseMessage(RenderTask, task, 'render task')).toEqual(task);
    expect(() => parseMessage(RenderTask, { ...task, settings: { ...task.settings, steps: 0 } }, 'render task x'))
      .toThrow(/invalid render task x: settings\.steps/);
    expect(() => parseMessage(RenderTask, { ...task, v: 2 }, 'render task')).toThrow(/invalid render task: v/);
  });

  it('has no room for a path: unknown fields (a model folder, an embedding file) are refused', () => {
    expect(() => parseMessage(RenderTask, { ...task, settings: { ...task.settings, model: '/home/me/models/sd' } }, 'render task')).toThrow(/settings/);
    expect(() => parseMessage(RenderTask, { ...task, embeddingFile: '/home/me/style.safetensors' }, 'render task')).toThrow();
    expect(() => parseMessage(RenderTask, { ...task, settings: { ...task.settings, modelHash: '/home/me/models/sd' } }, 'render task')).toThrow(/modelHash/);
  });
});

describe('model folders by content hash', () => {
  const model = join(tinySd15Dir, 'pipeline');

  it('the same content anywhere has the same hash; other content, another; the library manifest does not count', () => {
    const root = tmp();
    const copy = join(root, 'copy');
    cpSync(model, copy, { recursive: true });
    const original = modelFolderHash(model);
    expect(original).toMatch(/^[0-9a-f]{64}$/);
    expect(modelFolderHash(copy)).toBe(original);
    writeFileSync(join(copy, MANIFEST_FILE), JSON.stringify({ importedAt: new Date().toISOString() }));
    writeFileSync(join(copy, '.DS_Store'), 'x');
    expect(modelFolderHash(copy)).toBe(original);
    // One changed byte in a config changes the hash (remembered hashes notice the new size/time).
    writeFileSync(join(copy, 'scheduler', 'scheduler_config.json'), '{"_class_name": "EulerDiscreteScheduler"}');
    expect(modelFolderHash(copy)).not.toBe(original);
  });

  it('a worker indexes the model sub-folders of --models (links followed) and finds one by hash', () => {
    const root = tmp();
    const models = join(root, 'models');
    mkdirSync(models);
    symlinkSync(model, join(models, 'tiny'));
    mkdirSync(join(models, 'not-a-model'));
    const index = ModelIndex.scan(models);
    expect(index.size).toBe(1);
    expect(index.folder(modelFolderHash(model))).toBe(join(models, 'tiny'));
    expect(index.folder('b'.repeat(64))).toBeNull();
    expect(ModelIndex.scan(join(root, 'missing')).size).toBe(0);
    rmSync(join(models, 'tiny'));
  });
});
