import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { readEmbeddingFile, writeEmbeddingFile } from '../../src/main/style/formats/index';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { dreamframeFixtureDir, tinySd15Dir } from '../support/paths';
import { TestWsClient } from '../support/ws-client';

function httpGet(port: number, path: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const modelDir = join(tinySd15Dir, 'pipeline');

describe('style.* over the serve-mode WebSocket', () => {
  let dir: string;
  let server: RunningServer;
  let client: TestWsClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dreamframe-style-api-'));
    createProjectWithSample(join(dir, 'project'), true).close();
    server = await startServer({ projectDir: join(dir, 'project'), port: 0 });
    client = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const jobDone = (jobId: number) => client.waitForEvent((e) => e.event === 'job.progress' && e.payload.id === jobId
    && ['done', 'failed', 'cancelled'].includes(e.payload.status), 90_000);

  it('imports, generates, learns, serves the images, and makes the embedding the render embedding', async () => {
    const filmId = (await client.call('films.list'))[0].id;
    const empty = await client.call('style.get', { filmId });
    expect(empty).toMatchObject({ styleId: null, images: [], embeddings: [], latestJob: null });
    expect(empty.keyword.length).toBeGreaterThan(0);
    expect((await client.request('style.learn', { filmId, modelDir })).error.code).toBe('style.no_images');

    const images = join(dir, 'images');
    mkdirSync(images);
    for (const f of ['Cathedral0.jpg', 'TownSquare3.jpg']) copyFileSync(join(dreamframeFixtureDir, 'style', f), join(images, f));
    const imported = await client.call('style.importImages', { filmId, folder: images });
    expect(imported).toMatchObject({ added: 2, skipped: 0 });
    expect(imported.images.map((i: any) => i.source)).toEqual(['imported', 'imported']);

    // Media: full size is the stored file itself, the thumbnail a WebP.
    const first = imported.images[0];
    const full = await httpGet(server.port, `/media/full/${first.mediaKey}?token=${server.token}`);
    expect(full.status).toBe(200);
    expect(full.body.equals(readFileSync(join(images, 'Cathedral0.jpg')))).toBe(true);
    const thumb = await httpGet(server.port, `/media/thumb/${first.mediaKey}?token=${server.token}`);
    expect([thumb.status, thumb.type]).toEqual([200, 'image/webp']);
    expect((await httpGet(server.port, `/media/full/asset/${'0'.repeat(64)}?token=${server.token}`)).status).toBe(404);

    const gen = await client.call('style.generateImages', { filmId, modelDir, count: 1, seed: 5, steps: 2, width: 16, height: 16 });
    expect((await jobDone(gen.jobId)).payload.status).toBe('done');
    let state = await client.call('style.get', { filmId });
    expect(state.images.map((i: any) => i.source)).toEqual(['imported', 'imported', 'generated']);
    // The generated 16-px image is left out of training (the imported ones are 512 px photos).
    const excluded = await client.call('style.setImageIncluded', { imageId: state.images[2].id, included: false });
    expect(excluded.included).toBe(false);

    const bad = await client.request('style.learn', { filmId, modelDir, settings: { steps: 0 } });
    expect(bad.error.code).toBe('invalid_input');
    const learn = await client.call('style.learn', {
      filmId, modelDir, settings: { steps: 2, lrSchedule: '1e-2', accumulation: 1, seed: 4, threads: 1, checkpointEvery: 1 },
    });
    expect((await jobDone(learn.jobId)).payload.status).toBe('done');
    state = await client.call('style.get', { filmId });
    expect(state.latestJob.job.id).toBe(learn.jobId);
    expect(state.latestJob.losses.map((l: any) => l.step)).toEqual([1, 2]);
    expect(state.settings).toMatchObject({ modelDir, steps: 2, seed: 4 });
    expect(state.embeddings).toHaveLength(1);
    const learned = state.embeddings[0];
    expect(learned.id).toBe(state.latestJob.embeddingId);
    const file = readEmbeddingFile(learned.file).embedding;
    expect(file).toMatchObject({ keyword: state.keyword, steps: 2 });
    expect(learned.loss).toBeCloseTo(file.loss!, 10);

    const used = await client.call('style.useEmbedding', { filmId, embeddingId: learned.id });
    expect(used).toEqual({ activeEmbeddingId: learned.id, renderEmbedding: learned.file });
    // Stored relative to the project folder (see test/render/embedding-path.test.ts).
    expect(learned.file.endsWith(`/${(await client.call('render.getSettings', { filmId })).embedding}`)).toBe(true);
    expect((await client.call('style.get', { filmId })).activeEmbeddingId).toBe(learned.id);

    // An embedding in the diffusers layout, named for another word, is imported bound to the film's keyword.
    const diffusers = join(dir, 'learned_embeds.safetensors');
    writeEmbeddingFile(diffusers, { ...file, keyword: 'other' }, 'diffusers');
    const importedEmb = await client.call('style.importEmbedding', { filmId, file: diffusers });
    const re = readEmbeddingFile(importedEmb.file).embedding;
    expect(re.keyword).toBe(state.keyword);
    expect(Array.from(re.vectors[0].data)).toEqual(Array.from(file.vectors[0].data));
    expect(importedEmb.active).toBe(false);

    const missing = await client.request('style.useEmbedding', { filmId, embeddingId: 999 });
    expect(missing.error.code).toBe('not_found');
    const missingFolder = await client.request('style.importImages', { filmId, folder: join(dir, 'nope') });
    expect(missingFolder.ok).toBe(false);
  }, 120_000);
});
