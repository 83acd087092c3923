import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatch } from '../../src/main/api/dispatch';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { getRenderSettings, setRenderSettings } from '../../src/main/render/settings';
import { listFilms } from '../../src/main/story/film-reader';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

/** Issue #17 defect 5: render settings are checked when saved, with one message per field for the form. */

const tempDir = useTempDir();
let ctx: AppContext | null = null;
afterEach(async () => { await ctx?.close(); ctx = null; });

describe('render.setSettings checks what it saves', () => {
  it('refuses a size that is not a multiple of 8 and model folders that do not exist, field by field, saving nothing', async () => {
    ctx = createAppContext('test', createProjectWithSample(tempDir(), true));
    const db = ctx.requireProject().db;
    const filmId = listFilms(db)[0].id;
    const before = getRenderSettings(db, filmId);
    const missing = join(tempDir(), 'no-such-model');
    const file = join(tempDir(), 'model.onnx');
    writeFileSync(file, 'x');

    const out = await dispatch(ctx, 'render.setSettings', { filmId, settings: { width: 63, height: 64, model: missing, refiner: file, steps: 3 } });
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.error.code).toBe('render.invalid_settings');
    expect(out.error.details).toEqual({
      fields: {
        width: 'Width 63 is not a multiple of 8 (the model works on 8×8 pixel blocks); try 56 or 64',
        model: `Model folder ${missing} does not exist`,
        refiner: `Refiner ${file} is a file; choose the model's folder`,
      },
    });
    expect(getRenderSettings(db, filmId)).toEqual(before);

    const relative = await dispatch(ctx, 'render.setSettings', { filmId, settings: { model: 'models/sd15' } });
    expect(relative.ok ? null : relative.error.message).toMatch(/relative path/);

    const good = await dispatch(ctx, 'render.setSettings', { filmId, settings: { width: 64, model: join(tinySd15Dir, 'pipeline') } });
    expect(good.ok).toBe(true);
    // A folder that vanished after it was saved does not block saving another field.
    setRenderSettings(db, filmId, { model: missing });
    const steps = await dispatch(ctx, 'render.setSettings', { filmId, settings: { steps: 7 } });
    expect(steps.ok).toBe(true);
    expect(getRenderSettings(db, filmId)).toMatchObject({ steps: 7, model: missing, width: 64 });
  });
});
