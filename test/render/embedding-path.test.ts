import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { EventBus } from '../../src/main/app/event-bus';
import { DiffusionPipeline } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner } from '../../src/main/jobs/runner';
import { openProject, type Project } from '../../src/main/project/project';
import { embeddingSettingValue, resolveEmbeddingFile } from '../../src/main/render/embedding-path';
import { filmFramesInOrder } from '../../src/main/render/frames';
import { DEFAULT_NEGATIVE_PROMPT } from '../../src/main/render/prompt';
import { RENDER_JOB, renderJobKind, type RendererFactory } from '../../src/main/render/render-job';
import { getRenderSettings, setRenderSettings } from '../../src/main/render/settings';
import { listFilms } from '../../src/main/story/film-reader';
import { readEmbeddingFile, writeEmbeddingFile } from '../../src/main/style/formats/index';
import { importEmbeddingFile, useEmbedding } from '../../src/main/style/style-service';
import { f32, readCase } from '../diffusion/fixture-io';
import { dreamframeFixtureDir, tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

const model = join(tinySd15Dir, 'pipeline');
const tiny = { model, width: 16, height: 16, steps: 2, guidance: 3 };
const releaseEmbedding = join(dreamframeFixtureDir, 'story_0_Dramatic.pt');

/** A renderer that records which embedding file it was given and returns a blank picture. */
function recordingFactory(seen: (string | null)[]): RendererFactory {
  return async (settings) => {
    seen.push(settings.embedding);
    const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer();
    return { model: 'recording', render: async () => png, release: async () => {} };
  };
}

/** Runs a render job of the film's first frame with the film's stored settings. */
async function renderFirstFrame(p: Project, filmId: number, factory?: RendererFactory) {
  const runner = new JobRunner(p, new EventBus(), [renderJobKind(factory)], 0);
  runner.start();
  const frame = filmFramesInOrder(p.db, filmId)[0];
  const job = runner.enqueue(RENDER_JOB, { filmId, scope: { kind: 'frames', frameIds: [frame.frameId] }, settings: getRenderSettings(p.db, filmId) }, filmId);
  await runner.whenIdle();
  await runner.stop();
  return getJob(p.db, job.id)!;
}

/** Moves a closed project folder and opens it at its new place. */
function moveProject(p: Project, to: string): Project {
  p.close();
  renameSync(p.dir, to);
  return openProject(to);
}

describe('the render settings\' embedding survives moving the project', () => {
  const tmp = useTempDir();

  it('stores an imported embedding relative to the project and finds it after the folder moved', () => {
    const dir = tmp();
    let p = createProjectWithSample(join(dir, 'before'), true);
    const filmId = listFilms(p.db)[0].id;
    const imported = importEmbeddingFile(p, filmId, releaseEmbedding);
    const used = useEmbedding(p, filmId, imported.id);
    expect(used.renderEmbedding).toBe(imported.file);
    const stored = getRenderSettings(p.db, filmId).embedding!;
    expect(stored).toMatch(/^assets\/styles\/\d+\/embeddings\/[^/]+\.safetensors$/);

    p = moveProject(p, join(dir, 'after'));
    try {
      expect(getRenderSettings(p.db, filmId).embedding).toBe(stored);
      const file = resolveEmbeddingFile(p, stored);
      expect(file).toBe(join(dir, 'after', ...stored.split('/')));
      expect(existsSync(imported.file)).toBe(false);
      // The release's SDXL keyword row: one CLIP-L and one OpenCLIP-bigG vector.
      expect(readEmbeddingFile(file).embedding.vectors.map((v) => v.width)).toEqual([768, 1280]);
    } finally {
      p.close();
    }
  });

  it('renders a frame with the project\'s embedding after the project moved, like the pipeline given its vectors', async () => {
    const dir = tmp();
    let p = createProjectWithSample(join(dir, 'before'), true);
    const filmId = listFilms(p.db)[0].id;
    const cases = join(tinySd15Dir, 'cases');
    const vector = f32(cases, readCase(cases, 'textual_inversion.json').placeholder_embedding_initial);
    const outside = join(dir, 'style.safetensors');
    writeEmbeddingFile(outside, { vectors: [{ rows: 1, width: vector.length, data: vector }], family: null, keyword: 'Whimsical' }, 'ours');
    useEmbedding(p, filmId, importEmbeddingFile(p, filmId, outside).id);
    setRenderSettings(p.db, filmId, tiny);
    rmSync(outside);

    p = moveProject(p, join(dir, 'after'));
    try {
      const job = await renderFirstFrame(p, filmId);
      expect(job).toMatchObject({ status: 'done' });
      const row = p.db.prepare('SELECT r.prompt, r.seed, a.rel_path FROM render r JOIN asset a ON a.sha256 = r.asset_sha256 WHERE r.job_id = ?')
        .get(job.id) as { prompt: string; seed: number; rel_path: string };
      const bytes = readFileSync(join(p.assetsDir, row.rel_path));
      const styled = await DiffusionPipeline.load(model);
      try {
        const opts = { prompt: row.prompt, negativePrompt: DEFAULT_NEGATIVE_PROMPT, seed: row.seed, steps: 2, guidance: 3, width: 16, height: 16, scheduler: 'euler' as const };
        const plain = (await styled.generate(opts)).images[0];
        expect(Buffer.compare(plain, bytes)).not.toBe(0);
        await styled.setLearnedEmbedding({ keyword: 'Whimsical', vectors: [vector], cacheDir: join(dir, 'cache') });
        expect(Buffer.compare((await styled.generate(opts)).images[0], bytes)).toBe(0);
      } finally {
        await styled.release();
      }
    } finally {
      p.close();
    }
  }, 120_000);
});

describe('older absolute settings, missing files and files outside the project', () => {
  let dir: string;
  let p: Project;
  let filmId: number;
  let ownFile: string;
  let oldAbsolute: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'df-embedding-path-'));
    p = createProjectWithSample(join(dir, 'before'), true);
    filmId = listFilms(p.db)[0].id;
    const imported = importEmbeddingFile(p, filmId, releaseEmbedding);
    oldAbsolute = imported.file;
    p = moveProject(p, join(dir, 'after'));
    ownFile = join(p.assetsDir, imported.file.slice(join(dir, 'before', 'assets').length + 1));
  });
  afterAll(() => {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads an absolute path into the project\'s old location as the project\'s own file', async () => {
    // What a build before project-relative settings wrote: the absolute path of the old location.
    p.db.prepare(`INSERT INTO render_settings (film_id, settings_json) VALUES (?, ?)
      ON CONFLICT (film_id) DO UPDATE SET settings_json = excluded.settings_json`).run(filmId, JSON.stringify({ model: 'unused', embedding: oldAbsolute }));
    expect(getRenderSettings(p.db, filmId).embedding).toBe(oldAbsolute);
    expect(existsSync(oldAbsolute)).toBe(false);
    expect(resolveEmbeddingFile(p, oldAbsolute)).toBe(ownFile);
    const seen: (string | null)[] = [];
    expect(await renderFirstFrame(p, filmId, recordingFactory(seen))).toMatchObject({ status: 'done' });
    expect(seen).toEqual([ownFile]);
    // Saving the setting again stores it the new way.
    expect(embeddingSettingValue(p, oldAbsolute)).toMatch(/^assets\/styles\//);
    expect(join(p.dir, embeddingSettingValue(p, oldAbsolute)!)).toBe(ownFile);
  });

  it('keeps files outside the project absolute and refuses relative paths that leave it', () => {
    const elsewhere = join(dir, 'elsewhere.safetensors');
    writeFileSync(elsewhere, 'x');
    expect(embeddingSettingValue(p, elsewhere)).toBe(elsewhere);
    expect(resolveEmbeddingFile(p, elsewhere)).toBe(elsewhere);
    expect(embeddingSettingValue(p, join(p.dir, 'assets', 'x.safetensors'))).toBe('assets/x.safetensors');
    expect(() => embeddingSettingValue(p, '../elsewhere.safetensors'))
      .toThrow(expect.objectContaining({ code: 'invalid_input', message: expect.stringContaining('"../elsewhere.safetensors"') }));
    expect(() => resolveEmbeddingFile(p, '../elsewhere.safetensors')).toThrow(expect.objectContaining({ code: 'render.embedding_outside_project' }));
  });

  it('fails a render whose embedding file is gone with an error naming the file', async () => {
    setRenderSettings(p.db, filmId, { embedding: embeddingSettingValue(p, ownFile) });
    rmSync(ownFile);
    const seen: (string | null)[] = [];
    const job = await renderFirstFrame(p, filmId, recordingFactory(seen));
    expect(job).toMatchObject({ status: 'failed', error: { code: 'render.embedding_missing' } });
    expect(job.error!.message).toContain(ownFile);
    expect(seen).toEqual([]);
    const gone = join(dir, 'gone.safetensors');
    expect(() => resolveEmbeddingFile(p, gone)).toThrow(expect.objectContaining({ code: 'render.embedding_missing', message: expect.stringContaining(gone) }));
  });
});
