import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, type LoadedModel } from '../../src/main/diffusion/loader/model-folder';
import { DiffusionPipeline } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { makeHalfVariant, makeTimestepVariant, type TimestepForm } from '../support/model-variants/dtype-variants';
import { halfRound } from '../support/model-variants/graph-edits';
import { tinySd15Dir } from '../support/paths';
import { absMax, expectLatentsClose, f32, ints, item, maxAbsDiff, readCase, txt2imgFromCase } from './fixture-io';

/**
 * The dtype variations of real SD exports (fp16 I/O, fp16-stored weights, timestep float16/int64/rank-0), built
 * from tiny-sd15 by graph surgery (test/support/model-variants) and run through our loader and pipeline. Each
 * variant computes what the fixture computes, so its outputs are predicted from the fixture model's.
 */

const cases = join(tinySd15Dir, 'cases');
const ATOL = 1e-4; // single-model outputs (fixture README)
const unetCases: any[] = readCase(cases, 'unet.json').cases;

/** Rounds every value to the nearest float16, as the pipeline's fp32 → fp16 conversion must. */
function roundedToHalf(a: Float32Array): Float32Array {
  return Float32Array.from(a, halfRound);
}

/**
 * A float16 output is the fp32 value rounded to nearest: off by at most half a float16 ulp, i.e. |x|·2⁻¹¹ for
 * normal numbers and 2⁻²⁵ below 2⁻¹⁴ (subnormals). `slack` covers fp32 noise of the computation before rounding.
 */
function expectHalfOf(actual: Float32Array, exact: Float32Array, slack = 2e-6): void {
  expect(actual.length).toBe(exact.length);
  let worst = 0;
  for (let i = 0; i < exact.length; i++) {
    const bound = Math.abs(exact[i]) * 2 ** -11 + 2 ** -25 + slack * (1 + Math.abs(exact[i]));
    worst = Math.max(worst, Math.abs(actual[i] - exact[i]) / bound);
  }
  expect(worst).toBeLessThanOrEqual(1);
}

async function predict(model: LoadedModel, c: any, timestep?: number | number[], round = false): Promise<Float32Array> {
  const sample = f32(cases, c.sample);
  const ehs = f32(cases, c.encoder_hidden_states);
  const out = new Float32Array(sample.length);
  await model.unet.predict(
    {
      sample: round ? roundedToHalf(sample) : sample,
      sampleDims: c.sample.shape,
      timestep: timestep ?? Array.from(f32(cases, c.timestep)),
      encoderHiddenStates: round ? roundedToHalf(ehs) : ehs,
      ehsDims: c.encoder_hidden_states.shape,
    },
    out,
  );
  return out;
}

let root: string;
let reference: LoadedModel;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dreamframe-variants-'));
  reference = await loadModelFolder(join(tinySd15Dir, 'pipeline'), { threads: 1 });
});
afterAll(async () => {
  await reference?.release();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('UNet timestep as float16, int64 or a rank-0 scalar', () => {
  const forms: Array<{ form: TimestepForm; spec: { type: string; scalar: boolean }; feeds: (t: number) => number }> = [
    // float16 holds every integer up to 2048 exactly; other values are rounded to the nearest float16 (0.5 apart here).
    { form: 'float16', spec: { type: 'float16', scalar: false }, feeds: halfRound },
    // int64 takes the nearest integer (diffusers' schedules give integers for the discrete schedulers).
    { form: 'int64', spec: { type: 'int64', scalar: false }, feeds: Math.round },
    { form: 'scalar-float32', spec: { type: 'float32', scalar: true }, feeds: (t) => Math.fround(t) },
  ];

  for (const { form, spec, feeds } of forms) {
    it(`${form}: the loader reads the declared form; noise predictions equal the fixture's on every case`, async () => {
      const dir = makeTimestepVariant(tinySd15Dir, join(root, `timestep-${form}`), form);
      const model = await loadModelFolder(dir, { threads: 1 });
      try {
        expect(model.info.family).toBe('sd1');
        expect(model.unet.timestep).toEqual(spec);
        for (const c of unetCases) {
          const timesteps = Array.from(f32(cases, c.timestep));
          if (spec.scalar && timesteps.length > 1 && new Set(timesteps).size > 1) {
            // One timestep per batch item cannot be expressed by a scalar input: refused, not silently broadcast.
            await expect(predict(model, c)).rejects.toMatchObject({ code: 'diffusion.model_io' });
            continue;
          }
          expect(timesteps.every(Number.isInteger)).toBe(true); // the fixture's timesteps are integers
          expect(maxAbsDiff(await predict(model, c), f32(cases, c.out_sample)), c.name).toBeLessThan(ATOL);
        }
        // A fractional timestep (Karras/linspace schedules) reaches the model as the declared type holds it.
        const c = unetCases[0];
        const t = 957.375;
        const viaVariant = await predict(model, c, t);
        const viaFixture = await predict(reference, c, feeds(t));
        expect(maxAbsDiff(viaVariant, viaFixture)).toBeLessThan(1e-5);
        if (form !== 'scalar-float32') expect(maxAbsDiff(viaVariant, await predict(reference, c, t))).toBeGreaterThan(1e-6);
      } finally {
        await model.release();
      }
    });
  }

  it('a full txt2img run with the rank-0 timestep UNet reproduces the reference Euler run', async () => {
    const run = readCase(cases, 'txt2img_euler.json');
    const pipe = await DiffusionPipeline.load(makeTimestepVariant(tinySd15Dir, join(root, 'timestep-run'), 'scalar-float32'), { threads: 1 });
    try {
      const result = await pipe.txt2img(txt2imgFromCase(cases, run, 'euler'));
      expect(result.timesteps).toEqual(run.step_timesteps.map(Number));
      expectLatentsClose(result.latents, item(f32(cases, run.latents_after_step), 9, 4096));
      expect(maxAbsDiff(result.rgb[0], f32(cases, run.image))).toBeLessThan(1e-4);
    } finally {
      await pipe.release();
    }
  });
});

describe('float16 inputs and outputs (the diffusers script --fp16 contract) on every component', () => {
  let half: LoadedModel;
  let halfDir: string;
  beforeAll(async () => {
    halfDir = makeHalfVariant(tinySd15Dir, join(root, 'half-io'));
    half = await loadModelFolder(halfDir, { threads: 1 });
  });
  afterAll(() => half?.release());

  it('the loader reads float16 from the models and keeps the family and sizes', () => {
    expect(half.info).toMatchObject({ family: 'sd1', vaeScaleFactor: 2, latentChannels: 4, defaultSize: 64 });
    expect([half.unet.sampleType, half.unet.ehsType, half.unet.timestep.type]).toEqual(['float16', 'float16', 'float16']);
    expect(half.textEncoder!.s.outputs.get('last_hidden_state')!.type).toBe('float16');
    expect(half.vaeDecoder.inputType).toBe('float16');
  });

  it('UNet: the output is the fp32 model on fp16-rounded inputs, rounded to fp16', async () => {
    for (const c of unetCases) {
      const out = await predict(half, c);
      // What the half model must compute: the same graph on the inputs as float16 holds them.
      expectHalfOf(out, await predict(reference, c, undefined, true));
      // Against the fixture's fp32 reference: rounding inputs and output to 11 significant bits (relative 2⁻¹¹ ≈
      // 4.9e-4 each) moves the output by about that much of its absmax (measured ≤ 5.2e-4); 10× margin.
      expect(maxAbsDiff(out, f32(cases, c.out_sample)), c.name).toBeLessThan(5e-3 * absMax(f32(cases, c.out_sample)));
    }
  });

  it('text encoder: float16 hidden states and pooled output equal the reference rounded to fp16', async () => {
    const c = readCase(cases, 'text_encoder.json');
    const ids = ints(cases, c.input_ids);
    const enc = await half.textEncoder!.encode([ids.slice(0, 77), ids.slice(77)]);
    expectHalfOf(enc.lastHidden, f32(cases, c.last_hidden_state), ATOL);
    expectHalfOf(enc.pooled!, f32(cases, c.pooler_output), ATOL);
  });

  it('VAE decoder and encoder: float16 in and out around the fp32 computation', async () => {
    const vae = readCase(cases, 'vae.json');
    for (const d of vae.decode_cases) {
      const latents = f32(cases, d.latent_sample);
      const ours = await half.vaeDecoder.decode(latents, d.latent_sample.shape);
      const exact = await reference.vaeDecoder.decode(roundedToHalf(latents), d.latent_sample.shape);
      expect(ours.dims).toEqual(exact.dims);
      expectHalfOf(ours.data, exact.data);
    }
    // The script-era encoder samples inside the graph (unseeded), so only its form can be checked here.
    const e = vae.encode_cases[0];
    const encoded = await (await half.vaeEncoder()).encode(f32(cases, e.sample), e.sample.shape);
    expect(encoded.dims).toEqual([1, 4, 32, 32]);
    expect(encoded.mean.every(Number.isFinite)).toBe(true);
  });

  it('a full txt2img run with every component in fp16 I/O stays within fp16 error of the fp32 reference', async () => {
    const run = readCase(cases, 'txt2img_euler.json');
    const pipe = new DiffusionPipeline(half);
    const result = await pipe.txt2img(txt2imgFromCase(cases, run, 'euler'));
    const expected = item(f32(cases, run.latents_after_step), 9, 4096);
    // Each of the 10 steps rounds the UNet's inputs and output to 11 significant bits (relative 4.9e-4); guidance
    // 7.5 multiplies the error of cond − uncond by up to 2·7.5 + 1 = 16, and the Euler steps add the errors up.
    // That allows up to ~10 × 16 × 4.9e-4 ≈ 8e-2 of the latents' absmax (38 here) in the worst case; errors of
    // opposite sign cancel in practice (measured 9e-4 relative, image 4e-4), so 1e-2 still leaves a 10× margin.
    const drift = maxAbsDiff(result.latents, expected) / absMax(expected);
    expect(drift).toBeLessThan(1e-2);
    expect(drift).toBeGreaterThan(0); // the fp16 path really ran
    expect(maxAbsDiff(result.rgb[0], f32(cases, run.image))).toBeLessThan(5e-3);
  });
});

describe('float16-stored weights (fp16 initializers followed by Cast)', () => {
  it('load, and equal the fp32 model whose weights are the same float16 values', async () => {
    const stored = await loadModelFolder(makeHalfVariant(tinySd15Dir, join(root, 'half-weights'), { halfIo: [], halfWeights: ['unet'] }), { threads: 1 });
    const rounded = await loadModelFolder(makeHalfVariant(tinySd15Dir, join(root, 'rounded-weights'), { halfIo: [], roundedWeights: ['unet'] }), { threads: 1 });
    try {
      expect(stored.unet.sampleType).toBe('float32');
      for (const c of unetCases) {
        const out = await predict(stored, c);
        expect(maxAbsDiff(out, await predict(rounded, c)), c.name).toBeLessThan(1e-5);
        // Rounding the weights to 11 significant bits changes the output by about that relative amount
        // (measured ≤ 8.6e-4 of absmax); 5e-3 leaves a 5× margin and still catches a wrong conversion.
        const ref = f32(cases, c.out_sample);
        expect(maxAbsDiff(out, ref)).toBeGreaterThan(0);
        expect(maxAbsDiff(out, ref)).toBeLessThan(5e-3 * absMax(ref));
      }
    } finally {
      await stored.release();
      await rounded.release();
    }
  });
});
