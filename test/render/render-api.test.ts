import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { startServer } from '../../src/main/transports/server';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { TestWsClient } from '../support/ws-client';

/** render.* and curation.* over the real serve-mode WebSocket, with the tiny SD 1.5 fixture. */
describe('render and curation API over WebSocket', () => {
  const tmp = useTempDir();

  it('renders a subchapter with live progress, serves its thumbnails, and re-renders one frame with a new seed', async () => {
    const dir = join(tmp(), 'p');
    createProjectWithSample(dir, true).close();
    const server = await startServer({ projectDir: dir, port: 0 });
    const ws = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    try {
      const [film] = await ws.call('films.list');
      const noModel = await ws.request('render.start', { filmId: film.id, scope: { kind: 'film' } });
      expect(noModel.error).toMatchObject({ code: 'render.no_model' });
      const bad = await ws.request('render.setSettings', { filmId: film.id, settings: { steps: 0 } });
      expect(bad.error.code).toBe('invalid_input');
      const settings = await ws.call('render.setSettings', {
        filmId: film.id, settings: { model: join(tinySd15Dir, 'pipeline'), width: 32, height: 32, steps: 2 },
      });
      expect(settings).toMatchObject({ steps: 2, guidance: 5, baseSeed: 20, width: 32 });
      expect(await ws.call('render.getSettings', { filmId: film.id })).toEqual(settings);

      const sb = await ws.call('films.storyboard', { filmId: film.id });
      const sub = sb.subchapters[0];
      const frames = sb.frames.filter((f: any) => f.subchapterId === sub.id);
      const { jobId } = await ws.call('render.start', { filmId: film.id, scope: { kind: 'subchapter', subchapterId: sub.id } });
      const done = await ws.waitForEvent((e) => e.event === 'job.progress' && e.payload.id === jobId && e.payload.status === 'done', 90_000);
      expect(done.payload.progress).toBe(1);
      const progress = ws.events.filter((e) => e.event === 'job.progress' && e.payload.id === jobId).map((e) => e.payload.progress);
      expect(progress.length).toBeGreaterThan(frames.length);
      // Each finished frame was announced as a data change with its render.
      const changed = ws.events.filter((e) => e.event === 'data.changed' && e.payload.entities.some((x: any) => x.type === 'render'));
      expect(changed.map((e) => e.payload.entities.find((x: any) => x.type === 'frame').ids[0])).toEqual(frames.map((f: any) => f.id));

      const after = await ws.call('films.storyboard', { filmId: film.id });
      const first = after.frames.find((f: any) => f.id === frames[0].id);
      expect(first.thumbnail.kind).toBe('render');
      const [path, query] = first.thumbnail.key.split('?');
      const thumb = await fetch(`http://127.0.0.1:${server.port}/media/thumb/${path}?${query}&token=${server.token}`);
      expect(thumb.headers.get('content-type')).toBe('image/webp');
      const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 32, 32]);
      expect((await fetch(`http://127.0.0.1:${server.port}/media/full/${path}`)).status).toBe(401);
      const full = await fetch(`http://127.0.0.1:${server.port}/media/full/${path}?token=${server.token}`);
      expect(full.headers.get('content-type')).toBe('image/png');

      const before = await ws.call('render.list', { frameId: frames[0].id });
      expect(before).toHaveLength(1);
      const prompt = await ws.call('render.prompt', { frameId: frames[0].id });
      expect(prompt.prompt).toBe(before[0].prompt);
      expect(prompt.seed).toBe(before[0].seed);
      const tooMany = await ws.request('render.start', { filmId: film.id, scope: { kind: 'subchapter', subchapterId: sub.id }, seed: 5 });
      expect(tooMany.error.code).toBe('invalid_input');
      const again = await ws.call('render.start', { filmId: film.id, scope: { kind: 'frames', frameIds: [frames[0].id] }, seed: 4242 });
      await ws.waitForEvent((e) => e.event === 'job.progress' && e.payload.id === again.jobId && e.payload.status === 'done', 90_000);
      const renders = await ws.call('render.list', { frameId: frames[0].id });
      expect(renders.map((r: any) => [r.seed, r.isKeyframe])).toEqual([[4242, true], [before[0].seed, false]]);
      const now = (await ws.call('films.storyboard', { filmId: film.id })).frames.find((f: any) => f.id === frames[0].id);
      expect(now.thumbnail.key).not.toBe(first.thumbnail.key);
      // Going back to the first render as keyframe restores the first thumbnail key.
      await ws.call('render.chooseKeyframe', { renderId: before[0].id });
      const back = (await ws.call('films.storyboard', { filmId: film.id })).frames.find((f: any) => f.id === frames[0].id);
      expect(back.thumbnail.key).toBe(first.thumbnail.key);
      const jobs = await ws.call('jobs.list');
      expect(jobs.filter((j: any) => j.kind === 'render.keyframes').map((j: any) => j.status)).toEqual(['done', 'done']);
    } finally {
      ws.close();
      await server.close();
    }
  });

  it('curates: structure edits, search with a state filter, undo/redo labels, all with change events', async () => {
    const dir = join(tmp(), 'p');
    createProjectWithSample(dir, true).close();
    const server = await startServer({ projectDir: dir, port: 0 });
    const ws = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    try {
      const [film] = await ws.call('films.list');
      const sb = await ws.call('films.storyboard', { filmId: film.id });
      const sub = sb.subchapters[0];
      const frame = await ws.call('curation.insertFrame', { subchapterId: sub.id, index: 0, description: 'Gulls circle the lighthouse' });
      expect(frame).toMatchObject({ position: 0, subchapterId: sub.id, review: { state: 'draft' }, thumbnail: { kind: 'placeholder' } });
      await ws.waitForEvent((e) => e.event === 'data.changed' && e.payload.entities.some((x: any) => x.type === 'frame' && x.ids.includes(frame.id)));
      const line = await ws.call('curation.insertDialogue', { subchapterId: sub.id, afterFrame: 1, speaker: 'Mira', text: 'Gulls, again?' });
      expect(line).toMatchObject({ afterFrame: 1, seq: 0, speaker: 'Mira' });
      const moved = await ws.call('curation.moveDialogue', { id: line.id, afterFrame: 0 });
      expect(moved).toMatchObject({ afterFrame: 0 });

      const hits = await ws.call('curation.search', { filmId: film.id, query: 'GULLS' });
      expect(hits.hits.map((h: any) => [h.type, h.id, h.field])).toEqual([['frame', frame.id, 'description'], ['dialogue', line.id, 'text']]);
      await ws.call('review.set', { items: [{ type: 'frame', id: frame.id }], state: 'rejected', note: 'no gulls' });
      const rejected = await ws.call('curation.search', { filmId: film.id, query: '', state: 'rejected' });
      expect(rejected).toMatchObject({ total: 1, hits: [{ type: 'frame', id: frame.id, state: 'rejected' }] });
      // Every frame matches an empty query: the total equals the storyboard's counts.
      const everything = await ws.call('curation.search', { filmId: film.id, query: '', limit: 1 });
      expect(everything.total).toBe(sb.frames.length + 1 + sb.dialogue.length + 1 + sb.qa.length);
      expect(everything.hits).toHaveLength(1);
      const lines = await ws.call('curation.search', { filmId: film.id, query: '', type: 'dialogue' });
      expect(lines.total).toBe(sb.dialogue.length + 1);
      expect(lines.hits.every((h: any) => h.type === 'dialogue')).toBe(true);

      // Undo labels name the item as the storyboard numbers it, not by database id.
      expect(await ws.call('curation.history', { filmId: film.id })).toEqual({ undo: expect.stringMatching(/^Reject frame \d+\.\d+\.\d+$/), redo: null });
      await ws.call('edits.undo', { filmId: film.id });
      await ws.call('edits.undo', { filmId: film.id });
      expect(await ws.call('curation.history', { filmId: film.id })).toEqual({ undo: 'Insert dialogue line', redo: 'Move dialogue line' });
      await ws.call('curation.deleteFrame', { frameId: frame.id });
      const final = await ws.call('films.storyboard', { filmId: film.id });
      expect(final.frames.filter((f: any) => f.subchapterId === sub.id).map((f: any) => f.id))
        .toEqual(sb.frames.filter((f: any) => f.subchapterId === sub.id).map((f: any) => f.id));
      expect(final.dialogue.find((d: any) => d.id === line.id)).toMatchObject({ afterFrame: 0 });
      const missing = await ws.request('curation.deleteFrame', { frameId: 999_999 });
      expect(missing.error.code).toBe('not_found');
    } finally {
      ws.close();
      await server.close();
    }
  });
});
