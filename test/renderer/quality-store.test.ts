import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPinia, setActivePinia } from 'pinia';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { useQualityStore } from '../../src/renderer/src/stores/quality';
import { useStoryboardStore } from '../../src/renderer/src/stores/storyboard';
import { keyframeFilm } from '../quality/film-fixture';
import { QUALITY } from '../quality/fixture';
import { installInProcessApi } from './in-process-api';

/**
 * The quality panel's store against the real handlers, event bus and job runner (in process, no transport):
 * it follows the storyboard's film, starts a scoring job through quality.start, reloads when the job is done,
 * and filters / sorts the frames for the grid.
 */

let dir: string;
let context: AppContext;
let filmId: number;
let planted: number[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'df-quality-store-'));
  process.env.DREAMFRAME_QUALITY_CACHE = join(dir, 'cache');
  const project = createProjectWithSample(join(dir, 'p'), true);
  filmId = (project.db.prepare('SELECT id FROM film').get() as { id: number }).id;
  planted = await keyframeFilm(project, filmId);
  context = createAppContext('test', project);
});
afterAll(async () => {
  await context.close();
  delete process.env.DREAMFRAME_QUALITY_CACHE;
  rmSync(dir, { recursive: true, force: true });
});

describe('quality store against the real handlers', () => {
  it('shows nothing before scoring, scores through a job, reloads, and lists flagged frames worst first', async () => {
    setActivePinia(createPinia());
    installInProcessApi(() => context);
    const storyboard = useStoryboardStore();
    await storyboard.open(filmId);
    const store = useQualityStore();
    await store.load(filmId);
    expect(store.filmId).toBe(filmId);
    expect(store.quality).toBeNull();
    expect(store.error).toBeNull();

    store.clip = join(QUALITY, 'clip');
    store.lpips = join(QUALITY, 'lpips', 'lpips.onnx');
    await store.start();
    expect(store.error).toBeNull();
    await context.jobs.whenIdle();
    await expect.poll(() => store.quality?.film.scoredFrames ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(store.job?.status).toBe('done');

    expect(store.onlyFlagged).toBe(true);
    expect(store.listed.map((f) => f.frameId).sort()).toEqual([...planted].sort());
    expect(store.byFrame.get(planted[0])!.flags.map((f) => f.reason)).toContain('lpips_jump');

    store.onlyFlagged = false;
    store.sort = 'lpips';
    const worst = (f: (typeof store.listed)[number]) => Math.max(f.prev?.lpips ?? -Infinity, f.next?.lpips ?? -Infinity);
    const order = store.listed.map(worst);
    expect(order).toEqual([...order].sort((a, b) => b - a));
    expect(store.listed).toHaveLength(store.quality!.film.frames);
    store.sort = 'film';
    expect(store.listed.map((f) => f.index)).toEqual(store.listed.map((_, i) => i));
  });

  it('reports a missing model folder as an error instead of starting a job that cannot run', async () => {
    const store = useQualityStore();
    const before = store.job;
    store.clip = join(dir, 'no-such-clip');
    await store.start();
    expect(store.error).toContain(join(dir, 'no-such-clip'));
    expect(store.job).toBe(before);
  });
});
