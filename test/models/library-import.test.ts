import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dispatch } from '../../src/main/api/dispatch';
import { createProjectWithSample } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import type { AppContext } from '../../src/main/app/context';
import type { MethodName, MethodOutput } from '../../src/shared/api/contract';
import { listFilms, getStoryboard } from '../../src/main/story/film-reader';
import { main } from '../../src/main/cli/main';
import { captureStdout } from '../support/capture-stdout';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

const checkpoints = join(tinySd15Dir, 'checkpoints');
const tmp = useTempDir('dreamframe-library-import-');

let ctx: AppContext;
let savedModels: string | undefined;
let library: string;

async function call<M extends MethodName>(method: M, input: unknown): Promise<MethodOutput<M>> {
  const out = await dispatch(ctx, method, input);
  if (!out.ok) throw Object.assign(new Error(out.error.message), { code: out.error.code });
  return out.result as MethodOutput<M>;
}

beforeEach(() => {
  const dir = tmp();
  library = join(dir, 'models');
  savedModels = process.env.DREAMFRAME_MODELS;
  process.env.DREAMFRAME_MODELS = library;
  ctx = createAppContext('test', createProjectWithSample(join(dir, 'project'), true));
});

afterEach(async () => {
  await ctx.close();
  if (savedModels === undefined) delete process.env.DREAMFRAME_MODELS;
  else process.env.DREAMFRAME_MODELS = savedModels;
});

describe('the model library through the API', () => {
  it('imports a single-file checkpoint as a job, lists it, reuses it on a second import, and renders with it', async () => {
    const changed: unknown[] = [];
    ctx.events.onAny((event, payload) => { if (event === 'models.changed') changed.push(payload); });
    const source = join(checkpoints, 'tiny-sd15.safetensors');

    const { jobId } = await call('models.import', { source, config: join(checkpoints, 'config') });
    await ctx.jobs.whenIdle();
    const job = (await call('jobs.list', {})).find((j) => j.id === jobId);
    expect(job).toMatchObject({ kind: 'model.import', status: 'done', progress: 1 });
    expect(job?.message).toMatch(/^Imported "tiny-sd15.safetensors" as tiny-sd15$/);
    expect(changed).toEqual([{ dir: library }]);

    const listing = await call('models.list', {});
    expect(listing.dir).toBe(library);
    expect(listing.models).toHaveLength(1);
    const model = listing.models[0];
    expect(model).toMatchObject({
      id: 'tiny-sd15', family: 'sd1', prediction: 'epsilon', nativeWidth: 64, nativeHeight: 64, dtype: 'float32', source,
      dir: join(library, 'tiny-sd15'),
    });

    // The same bytes again: no second model, the job says where it already is.
    const again = await call('models.import', { source, config: join(checkpoints, 'config') });
    await ctx.jobs.whenIdle();
    expect((await call('jobs.list', {})).find((j) => j.id === again.jobId)?.message).toBe('Already in the library as "tiny-sd15.safetensors" (tiny-sd15)');
    expect((await call('models.list', {})).models).toHaveLength(1);

    // Picked for a film, the library model renders a keyframe at its native size.
    const film = listFilms(ctx.requireProject().db)[0];
    await call('render.setSettings', { filmId: film.id, settings: { model: model.dir, steps: 2 } });
    const frame = getStoryboard(ctx.requireProject().db, film.id).frames[0];
    await call('render.start', { filmId: film.id, scope: { kind: 'frames', frameIds: [frame.id] } });
    await ctx.jobs.whenIdle();
    const renders = await call('render.list', { frameId: frame.id });
    expect(renders).toMatchObject([{ status: 'done', model: model.dir, isKeyframe: true }]);

    await call('models.remove', { id: model.id });
    expect((await call('models.list', {})).models).toEqual([]);
  }, 120_000);

  it('fails an import of something that is not a model with the reader\'s reason, and adds nothing', async () => {
    const dir = tmp();
    const lora = join(dir, 'style-lora.safetensors');
    const header = Buffer.from(JSON.stringify({ 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight': { dtype: 'F32', shape: [4, 8], data_offsets: [0, 128] } }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(lora, Buffer.concat([length, header, Buffer.alloc(128)]));

    const { jobId } = await call('models.import', { source: lora });
    await ctx.jobs.whenIdle();
    const job = (await call('jobs.list', {})).find((j) => j.id === jobId);
    expect(job?.status).toBe('failed');
    expect(job?.error?.message).toMatch(/LoRA/);
    expect((await call('models.list', {})).models).toEqual([]);
  }, 60_000);
});

describe('dreamframe model import/list/remove with the library', () => {
  const stdout = captureStdout();

  it('imports into the library without --out, reuses it the second time, lists and removes it', async () => {
    const dir = tmp();
    const lib = join(dir, 'lib');
    const args = ['model', 'import', join(checkpoints, 'tiny-sd15-fp16.safetensors'), '--config', join(checkpoints, 'config'), '--models', lib, '--json'];
    expect(await main(args)).toBe(0);
    const first = JSON.parse(stdout.text());
    expect(first).toMatchObject({ id: 'tiny-sd15-fp16', family: 'sd1', dtype: 'float32', reused: false, dir: join(lib, 'tiny-sd15-fp16') });

    stdout.clear();
    expect(await main(args)).toBe(0);
    expect(JSON.parse(stdout.text())).toMatchObject({ id: 'tiny-sd15-fp16', reused: true });

    stdout.clear();
    expect(await main(['model', 'list', '--models', lib, '--json'])).toBe(0);
    const listing = JSON.parse(stdout.text());
    expect(listing).toMatchObject({ dir: lib, problems: [] });
    expect(listing.models.map((m: { id: string }) => m.id)).toEqual(['tiny-sd15-fp16']);

    stdout.clear();
    expect(await main(['model', 'list', '--models', lib])).toBe(0);
    expect(stdout.text()).toMatch(/tiny-sd15-fp16\s+sd1\s+64×64\s+float32/);

    stdout.clear();
    expect(await main(['model', 'remove', 'tiny-sd15-fp16', '--models', lib, '--json'])).toBe(0);
    expect(JSON.parse(stdout.text())).toEqual({ removed: true, id: 'tiny-sd15-fp16' });
    stdout.clear();
    expect(await main(['model', 'remove', 'tiny-sd15-fp16', '--models', lib, '--json'])).toBe(1);
    expect(JSON.parse(stdout.text()).error).toMatchObject({ code: 'not_found' });
  }, 120_000);
});
