import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPinia, setActivePinia } from 'pinia';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { useFarmStore } from '../../src/renderer/src/stores/farm';
import { startRedis, type TestRedis } from '../support/redis';
import { installInProcessApi } from './in-process-api';

/**
 * The jobs view's farm store against the real handlers and a real redis-server this test starts: no farm at
 * first, then a saved URL shows the (empty) queue and no workers; clearing it goes back to local rendering.
 */

let dir: string;
let context: AppContext;
let redis: TestRedis;
const saved = { config: process.env.DREAMFRAME_CONFIG_DIR, redis: process.env.DREAMFRAME_REDIS };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'df-farm-store-'));
  process.env.DREAMFRAME_CONFIG_DIR = join(dir, 'config');
  delete process.env.DREAMFRAME_REDIS;
  redis = await startRedis();
  context = createAppContext('test', createProjectWithSample(join(dir, 'p'), true));
});
afterAll(async () => {
  await context?.close();
  await redis?.stop();
  if (saved.config === undefined) delete process.env.DREAMFRAME_CONFIG_DIR;
  else process.env.DREAMFRAME_CONFIG_DIR = saved.config;
  if (saved.redis !== undefined) process.env.DREAMFRAME_REDIS = saved.redis;
  rmSync(dir, { recursive: true, force: true });
});

describe('farm store against the real handlers', () => {
  it('shows no farm, then the saved farm\'s queue and workers, then local rendering again', async () => {
    setActivePinia(createPinia());
    installInProcessApi(() => context);
    const farm = useFarmStore();
    const stop = farm.watch();
    await farm.loadSettings();
    await farm.refresh();
    expect(farm.status?.url ?? null).toBeNull();
    expect(farm.urlDraft).toBe('');

    farm.urlDraft = ` ${redis.url} `;
    await farm.save();
    expect(farm.error).toBeNull();
    expect(farm.notice).toBe('Saved: render jobs started from now on go to the farm.');
    expect(farm.status?.url).toBeTruthy();
    expect(farm.status?.error ?? null).toBeNull();
    expect(farm.status?.queue).toMatchObject({ waiting: 0, active: 0 });
    expect(farm.status?.workers).toEqual([]);

    farm.urlDraft = 'http://not-redis';
    await farm.save();
    expect(farm.error).toMatch(/^Could not save the render farm URL: /);

    farm.urlDraft = '';
    await farm.save();
    expect(farm.error).toBeNull();
    expect(farm.notice).toBe('Saved: render jobs render on this machine.');
    expect(farm.status?.url ?? null).toBeNull();
    stop();
    stop(); // a second stop of the same watcher does not end another watcher's polling
  }, 30_000);
});
