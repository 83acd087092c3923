import { join } from 'node:path';
import { expect } from 'vitest';
import { loadModelFolder } from '../../../src/main/diffusion/loader/model-folder';
import { DiffusionPipeline } from '../../../src/main/diffusion/pipeline/stable-diffusion';
import { idsTensor } from '../../../src/main/diffusion/runtime/tensors';
import { fromHalf } from '../../../src/main/util/half-float';
import { tinySd15Dir, tinySdxlDir } from '../../support/paths';
import { absMax, f32, ints, item, maxAbsDiff, readCase, txt2imgFromCase } from '../../diffusion/fixture-io';

/**
 * Tolerances against the fixtures' reference outputs. `exact` weights (the float32 sources): the fixture READMEs'
 * single-model atol 1e-4 and their whole-loop bounds. `fp16` is for a float16 source, whose weights are the
 * reference ones rounded to float16; see docs/models.md ("Import: float16 sources") for how the bound was found.
 */
export interface Tolerance {
  /** Text encoder, UNet: max abs error relative to the reference absmax. */
  model: number;
  /** Final image in [0, 1]. */
  image: number;
}

export const EXACT: Tolerance = { model: 1e-4, image: 1e-4 };

/** float16's unit roundoff: a weight rounded to float16 is off by at most this fraction of itself. */
export const HALF_UNIT_ROUNDOFF = 2 ** -11;

/**
 * A float16 checkpoint imported to float32: the graphs are exact, the weights are the reference ones rounded to
 * float16 (relative error ≤ u = 2⁻¹¹ each). Measured on both fixtures (docs/models.md): the outputs' max error is
 * 0.9u (text encoder), 2.2u (SDXL's text_encoder_2), 1.9u (UNet) and 0.9u (final image) of the reference absmax;
 * the bound is 4u, about twice the worst seen, and 20× the float32 import's error (so a wrong graph still fails).
 */
export const FP16_WEIGHTS: Tolerance = { model: 4 * HALF_UNIT_ROUNDOFF, image: 4 * HALF_UNIT_ROUNDOFF };

/**
 * `--fp16` output: float16 weights and float16 activations between the float32-kept ops, so every op adds up to
 * u of rounding. Measured: ≤ 2.2u (text encoders), ≤ 3.6u (UNet), ≤ 2.6u (image); bound 8u.
 */
export const FP16_COMPUTE: Tolerance = { model: 8 * HALF_UNIT_ROUNDOFF, image: 8 * HALF_UNIT_ROUNDOFF };

/** Checks an imported tiny-sd15 folder against the fixture's text-encoder, UNet and txt2img (DDIM and Euler) references. */
export async function checkSd15Folder(dir: string, tol: Tolerance): Promise<Record<string, number>> {
  const cases = join(tinySd15Dir, 'cases');
  const errors: Record<string, number> = {};
  const model = await loadModelFolder(dir, { threads: 1 });
  try {
    expect(model.info).toMatchObject({ family: 'sd1', layout: 'optimum', vaeScaleFactor: 2, defaultSize: 64, scalingFactor: 0.18215 });
    const c = readCase(cases, 'text_encoder.json');
    const ids = ints(cases, c.input_ids);
    const enc = await model.textEncoder!.encode([ids.slice(0, 77), ids.slice(77)]);
    const ref = f32(cases, c.last_hidden_state);
    errors.text_encoder = maxAbsDiff(enc.lastHidden, ref) / absMax(ref);
    for (const u of readCase(cases, 'unet.json').cases) {
      const sample = f32(cases, u.sample);
      const out = new Float32Array(sample.length);
      await model.unet.predict(
        { sample, sampleDims: u.sample.shape, timestep: Array.from(f32(cases, u.timestep)), encoderHiddenStates: f32(cases, u.encoder_hidden_states), ehsDims: u.encoder_hidden_states.shape },
        out,
      );
      const expected = f32(cases, u.out_sample);
      errors[`unet ${u.name}`] = maxAbsDiff(out, expected) / absMax(expected);
    }
  } finally {
    await model.release();
  }
  const pipe = await DiffusionPipeline.load(dir, { threads: 1 });
  try {
    for (const [key, name] of [['ddim', 'ddim'], ['euler', 'euler']] as const) {
      const run = readCase(cases, `txt2img_${key}.json`);
      const result = await pipe.txt2img(txt2imgFromCase(cases, run, name));
      errors[`txt2img ${key}`] = maxAbsDiff(result.rgb[0], f32(cases, run.image));
    }
  } finally {
    await pipe.release();
  }
  for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThan(k.startsWith('txt2img') ? tol.image : tol.model);
  return errors;
}

/** Checks an imported tiny-sdxl folder against both encoders' outputs, every UNet case and txt2img_euler. */
export async function checkSdxlFolder(dir: string, tol: Tolerance): Promise<Record<string, number>> {
  const cases = join(tinySdxlDir, 'cases');
  const errors: Record<string, number> = {};
  const model = await loadModelFolder(dir, { threads: 1 });
  try {
    expect(model.info).toMatchObject({ family: 'sdxl-base', layout: 'optimum', scalingFactor: 0.13025, vaeScaleFactor: 2, forceZerosForEmptyPrompt: true, defaultScheduler: 'euler' });
    expect(model.textEncoder!.penultimateName).toBe('hidden_states.4');
    expect(model.textEncoder2!.penultimateName).toBe('hidden_states.5');
    const c = readCase(cases, 'text_encoders.json');
    for (const [key, enc] of [['text_encoder', model.textEncoder!], ['text_encoder_2', model.textEncoder2!]] as const) {
      const ids = ints(cases, c[key].input_ids);
      const out = await enc.s.session.run({ input_ids: idsTensor('int64', [ids.slice(0, 77), ids.slice(77)]) });
      for (const [name, desc] of Object.entries<any>(c[key].outputs)) {
        const expected = f32(cases, desc);
        const data = out[name].type === 'float16' ? Array.from(out[name].data as Uint16Array, fromHalf) : (out[name].data as Float32Array);
        errors[`${key} ${name}`] = maxAbsDiff(data, expected) / absMax(expected);
      }
    }
    for (const u of readCase(cases, 'unet.json').cases) {
      const sample = f32(cases, u.sample);
      const out = new Float32Array(sample.length);
      await model.unet.predict(
        {
          sample,
          sampleDims: u.sample.shape,
          timestep: ints(cases, u.timestep),
          encoderHiddenStates: f32(cases, u.encoder_hidden_states),
          ehsDims: u.encoder_hidden_states.shape,
          textEmbeds: f32(cases, u.text_embeds),
          timeIds: f32(cases, u.time_ids),
        },
        out,
      );
      const expected = f32(cases, u.out_sample);
      errors[`unet ${u.name}`] = maxAbsDiff(out, expected) / absMax(expected);
    }
  } finally {
    await model.release();
  }
  const pipe = await DiffusionPipeline.load(dir, { threads: 1 });
  try {
    const run = readCase(cases, 'txt2img_euler.json');
    const result = await pipe.generate({
      prompt: run.prompt,
      steps: run.num_inference_steps,
      scheduler: 'euler',
      guidance: run.guidance_scale,
      width: 64,
      height: 64,
      initLatents: f32(cases, run.initial_latents),
    });
    errors['txt2img euler'] = maxAbsDiff(result.rgb[0], f32(cases, run.image));
    void item;
  } finally {
    await pipe.release();
  }
  for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThan(k.startsWith('txt2img') ? tol.image : tol.model);
  return errors;
}
