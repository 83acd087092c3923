import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { startServer } from '../../src/main/transports/server';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { TestWsClient } from '../support/ws-client';

/** render.start with `variants`: one frame re-rendered with N new seeds (the compare view's button), tiny SD 1.5. */
describe('re-render one frame with N new seeds', () => {
  const tmp = useTempDir();

  it('renders N variants from the given seed, keeps the film setting, and refuses N for more than one frame', async () => {
    const dir = join(tmp(), 'p');
    createProjectWithSample(dir, true).close();
    const server = await startServer({ projectDir: dir, port: 0 });
    const ws = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    try {
      const [film] = await ws.call('films.list');
      await ws.call('render.setSettings', { filmId: film.id, settings: { model: join(tinySd15Dir, 'pipeline'), width: 32, height: 32, steps: 2 } });
      const sb = await ws.call('films.storyboard', { filmId: film.id });
      const sub = sb.subchapters[0];
      const frame = sb.frames.find((f: any) => f.subchapterId === sub.id);

      const refused = await ws.request('render.start', { filmId: film.id, scope: { kind: 'subchapter', subchapterId: sub.id }, variants: 3 });
      expect(refused.error).toMatchObject({ code: 'invalid_input' });
      expect(refused.error.message).toMatch(/^variants: /);

      const { jobId } = await ws.call('render.start', { filmId: film.id, scope: { kind: 'frames', frameIds: [frame.id] }, seed: 4242, variants: 3 });
      await ws.waitForEvent((e) => e.event === 'job.progress' && e.payload.id === jobId && e.payload.status === 'done', 90_000);
      const renders = await ws.call('render.list', { frameId: frame.id });
      const mine = renders.filter((r: any) => r.jobId === jobId).sort((a: any, b: any) => a.variant - b.variant);
      // The job's seed rule: variant v adds v × 100003.
      expect(mine.map((r: any) => [r.variant, r.seed, r.status, r.isKeyframe])).toEqual([
        [0, 4242, 'done', true], [1, 4242 + 100_003, 'done', false], [2, 4242 + 200_006, 'done', false],
      ]);
      expect(new Set(mine.map((r: any) => r.assetSha256)).size).toBe(3);
      // The film's own setting is untouched: the next ordinary render makes one image per frame again.
      expect((await ws.call('render.getSettings', { filmId: film.id })).variants).toBe(1);
    } finally {
      ws.close();
      await server.close();
    }
  });
});
