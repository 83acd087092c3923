import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/main/cli/main';
import { loadModelFolder } from '../../src/main/diffusion/loader/model-folder';
import { DiffusionPipeline, type StepInfo } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { captureStdout } from '../support/capture-stdout';
import { recordRuns, type RecordedRun } from '../support/model-variants/record-runs';
import { makeSdxlRefinerVariant, REFINER_TIME_ID_FILL } from '../support/model-variants/sdxl-refiner';
import { tinySdxlDir } from '../support/paths';
import { absMax, f32, item, maxAbsDiff, readCase } from './fixture-io';

/**
 * An SDXL refiner folder built from tiny-sdxl by graph surgery (test/support/model-variants/sdxl-refiner.ts):
 * 32-wide encoder_hidden_states from text_encoder_2 alone and 5 time ids with the aesthetic score. The tests check
 * detection, the refiner's conditioning against the fixture's reference tensors, and the base → refiner hand-off
 * through the pipeline API and `dreamframe render --refiner`, recomputing the refiner's steps from what its UNet got.
 */

const cases = join(tinySdxlDir, 'cases');
const baseDir = join(tinySdxlDir, 'pipeline');
// The fixture's run with a negative prompt: its conditioning holds text_encoder_2's states for both rows.
const run = readCase(cases, 'txt2img_euler_negative_prompt.json');
const PLANE = 4 * 32 * 32;
const SEQ = 77;
const common = { prompt: run.prompt as string, negativePrompt: run.negative_prompt as string, steps: 10, scheduler: 'euler' as const, guidance: 5, width: 64, height: 64 };
const sigmaOf = (t: number) => run.sigmas[run.timesteps.indexOf(t)] as number; // the reference schedule (10 steps)
const stdout = captureStdout();

let root: string;
let refinerDir: string;
let base: DiffusionPipeline;
let refiner: DiffusionPipeline;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dreamframe-refiner-'));
  refinerDir = makeSdxlRefinerVariant(tinySdxlDir, join(root, 'refiner'));
  base = await DiffusionPipeline.load(baseDir, { threads: 1 });
  refiner = await DiffusionPipeline.load(refinerDir, { threads: 1 });
});
afterAll(async () => {
  await base?.release();
  await refiner?.release();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The fixture base UNet run directly through onnxruntime on the refiner's inputs mapped back (see sdxl-refiner.ts). */
async function baseUnetOnRefinerInputs(r: RecordedRun): Promise<Float32Array> {
  const rows = r.inputs.sample.dims[0];
  const context = r.inputs.encoder_hidden_states;
  const width = context.dims[2];
  const padded = new Float32Array(rows * SEQ * 2 * width);
  for (let p = 0; p < rows * SEQ; p++) padded.set(context.data.subarray(p * width, (p + 1) * width), p * 2 * width + width);
  const six = new Float32Array(rows * 6);
  for (let b = 0; b < rows; b++) six.set([...r.inputs.time_ids.data.subarray(b * 5, b * 5 + 5), REFINER_TIME_ID_FILL], b * 6);
  const out = await base.model.unet.s.session.run({
    sample: new ort.Tensor('float32', Float32Array.from(r.inputs.sample.data), r.inputs.sample.dims),
    timestep: new ort.Tensor('int64', BigInt64Array.from(r.inputs.timestep.data, (v) => BigInt(v)), r.inputs.timestep.dims),
    encoder_hidden_states: new ort.Tensor('float32', padded, [rows, SEQ, 2 * width]),
    text_embeds: new ort.Tensor('float32', Float32Array.from(r.inputs.text_embeds.data), r.inputs.text_embeds.dims),
    time_ids: new ort.Tensor('float32', six, [rows, 6]),
  });
  return out.out_sample.data as Float32Array;
}

/** Replays Euler (s_churn 0) over recorded refiner calls: x = input·√(σ²+1), x' = x + guided·(σ' − σ). */
function eulerReplayError(runs: RecordedRun[], final: Float32Array, guidance: number): number {
  let worst = 0;
  for (let k = 0; k < runs.length; k++) {
    const t = runs[k].inputs.timestep.data[0];
    const sigma = sigmaOf(t);
    const sigmaNext = run.sigmas[run.timesteps.indexOf(t) + 1] as number;
    const x = runs[k].inputs.sample.data.subarray(0, PLANE).map((v) => v * Math.sqrt(sigma * sigma + 1));
    const out = runs[k].outputs.out_sample.data;
    const next =
      k + 1 < runs.length ? runs[k + 1].inputs.sample.data.subarray(0, PLANE).map((v) => v * Math.sqrt(sigmaNext * sigmaNext + 1)) : Float64Array.from(final);
    for (let i = 0; i < PLANE; i++) {
      const guided = out[i] + guidance * (out[PLANE + i] - out[i]);
      const expected = x[i] + guided * (sigmaNext - sigma);
      worst = Math.max(worst, Math.abs(next[i] - expected) / (1 + Math.abs(expected)));
    }
  }
  return worst;
}

function rowsOf(data: Float64Array, width: number): number[][] {
  return Array.from({ length: data.length / width }, (_, r) => Array.from(data.subarray(r * width, (r + 1) * width)));
}

describe('SDXL refiner variant of tiny-sdxl', () => {
  it('is identified as an SDXL refiner: text_encoder_2 only, 32-wide context, 5 time ids', () => {
    const m = refiner.model;
    expect(m.info).toMatchObject({ family: 'sdxl-refiner', forceZerosForEmptyPrompt: false, defaultScheduler: 'euler', scalingFactor: 0.13025 });
    expect(m.textEncoder).toBeUndefined();
    expect(m.tokenizer).toBeUndefined();
    expect(m.tokenizer2!.special.padId).toBe(0);
    expect([m.unet.isSdxl, m.unet.timeIdsLength, m.unet.contextWidth]).toEqual([true, 5, 32]);
  });

  it('its UNet is the base UNet with a zero CLIP-L half and the constant sixth time id (how the variant is built)', async () => {
    const c = readCase(cases, 'unet.json').cases[1]; // batch 2, two timesteps, two different time_ids rows
    const ehs = f32(cases, c.encoder_hidden_states);
    const second = new Float32Array(2 * SEQ * 32);
    for (let p = 0; p < 2 * SEQ; p++) second.set(ehs.subarray(p * 64 + 32, p * 64 + 64), p * 32);
    const timeIds = f32(cases, c.time_ids);
    const five = Float32Array.from([...timeIds.subarray(0, 5), ...timeIds.subarray(6, 11)]);
    const rec = recordRuns(refiner.model.unet.s.session);
    const out = new Float32Array(2 * PLANE);
    try {
      await refiner.model.unet.predict(
        { sample: f32(cases, c.sample), sampleDims: c.sample.shape, timestep: [1, 500], encoderHiddenStates: second, ehsDims: [2, SEQ, 32], textEmbeds: f32(cases, c.text_embeds), timeIds: five },
        out,
      );
    } finally {
      rec.stop();
    }
    expect(maxAbsDiff(out, await baseUnetOnRefinerInputs(rec.runs[0]))).toBeLessThan(1e-5);
  });

  it("conditioning: text_encoder_2's penultimate states and text_embeds of the reference; time ids with aesthetic 2.5 / 6.0", async () => {
    const cond = await refiner.conditioning([run.prompt], [run.negative_prompt], true, { width: 64, height: 64 });
    expect(cond.hiddenDims).toEqual([2, SEQ, 32]);
    const reference = f32(cases, run.prompt_embeds); // [2, 77, 64] = [text_encoder | text_encoder_2]
    const secondHalf = new Float32Array(2 * SEQ * 32);
    for (let p = 0; p < 2 * SEQ; p++) secondHalf.set(reference.subarray(p * 64 + 32, p * 64 + 64), p * 32);
    expect(maxAbsDiff(cond.hidden, secondHalf)).toBeLessThan(1e-4);
    expect(maxAbsDiff(cond.textEmbeds!, f32(cases, run.add_text_embeds))).toBeLessThan(1e-4);
    // diffusers' StableDiffusionXLImg2ImgPipeline defaults: aesthetic_score 6.0, negative_aesthetic_score 2.5.
    expect(Array.from(cond.timeIds!)).toEqual([64, 64, 0, 0, 2.5, 64, 64, 0, 0, 6]);
    // No negative prompt: the refiner's model_index says force_zeros_for_empty_prompt false, so "" is encoded.
    const empty = await refiner.conditioning([run.prompt], undefined, true, { width: 64, height: 64 });
    expect(absMax(empty.hidden.subarray(0, SEQ * 32))).toBeGreaterThan(0.1);
    const custom = await refiner.conditioning([run.prompt], undefined, true, { width: 48, height: 32 }, { aestheticScore: 7, negativeAestheticScore: 1 });
    expect(Array.from(custom.timeIds!)).toEqual([32, 48, 0, 0, 1, 32, 48, 0, 0, 7]);
  });

  it('base → refiner at 0.75 through the pipeline API: each stage runs its part of one schedule, the refiner continuing the hand-off latents', async () => {
    const initLatents = f32(cases, run.initial_latents);
    const handoff = await base.generate({ ...common, initLatents, denoisingEnd: 0.75 });
    // The base part is the reference run's first 7 steps.
    const ref7 = item(f32(cases, run.latents_after_step), 6, PLANE);
    expect(maxAbsDiff(handoff.latents, ref7)).toBeLessThan(1e-4 + 2e-5 * absMax(ref7));

    const recBase = recordRuns(base.model.unet.s.session);
    const recRefiner = recordRuns(refiner.model.unet.s.session);
    const steps: StepInfo[] = [];
    let result;
    try {
      result = await base.generate({ ...common, initLatents, refiner, refinerStart: 0.75, onStep: (s) => steps.push(s) });
    } finally {
      recBase.stop();
      recRefiner.stop();
    }
    const baseTs = recBase.runs.map((r) => r.inputs.timestep.data[0]);
    const refinerTs = recRefiner.runs.map((r) => r.inputs.timestep.data[0]);
    expect(baseTs).toEqual([901, 801, 701, 601, 501, 401, 301]); // t ≥ round(1000 · (1 − 0.75)) = 250
    expect(refinerTs).toEqual([201, 101, 1]); // the rest of the same 10-step schedule, none repeated or skipped
    expect([...baseTs, ...refinerTs]).toEqual(run.timesteps);
    expect(result.timesteps).toEqual(run.timesteps);
    expect(steps.map((s) => `${s.stage}:${s.step}/${s.totalSteps}`)).toEqual([...baseTs.map((_, i) => `base:${i + 1}/10`), 'refiner:8/10', 'refiner:9/10', 'refiner:10/10']);
    expect(result.refinerProvider).toBe('cpu');

    // What each UNet was given: the base its 64-wide context and 6 time ids, the refiner 32-wide and 5 with the score.
    for (const r of recBase.runs) expect(rowsOf(r.inputs.time_ids.data, 6)).toEqual([[64, 64, 0, 0, 64, 64], [64, 64, 0, 0, 64, 64]]);
    for (const r of recRefiner.runs) {
      expect(r.inputs.encoder_hidden_states.dims).toEqual([2, SEQ, 32]);
      expect(rowsOf(r.inputs.time_ids.data, 5)).toEqual([[64, 64, 0, 0, 2.5], [64, 64, 0, 0, 6]]);
    }
    // The refiner starts from the hand-off latents as they are (no added noise, no init-sigma scaling) at σ(201).
    const sigma = sigmaOf(201);
    const start = recRefiner.runs[0].inputs.sample.data.subarray(0, PLANE).map((v) => v * Math.sqrt(sigma * sigma + 1));
    expect(maxAbsDiff(start, handoff.latents)).toBeLessThan(1e-4);
    // Each refiner step is an Euler step on its own UNet's guided output, and that output is the base UNet's on the
    // mapped inputs — so the refiner really computed with what it was fed.
    expect(eulerReplayError(recRefiner.runs, result.latents, 5)).toBeLessThan(1e-5);
    expect(maxAbsDiff(Float32Array.from(recRefiner.runs[0].outputs.out_sample.data), await baseUnetOnRefinerInputs(recRefiner.runs[0]))).toBeLessThan(1e-5);
    // And a refiner is not the base: the result differs from the base-only reference run.
    expect(maxAbsDiff(result.latents, item(f32(cases, run.latents_after_step), 9, PLANE))).toBeGreaterThan(1e-2);
    expect(result.images).toHaveLength(1);
  });

  it('a schedule whose cut-off falls between steps: 8 steps hand over after 251, the refiner runs 126 and 1', async () => {
    const rec = recordRuns(refiner.model.unet.s.session);
    let result;
    try {
      result = await base.generate({ ...common, steps: 8, seed: 5, refiner, refinerStart: 0.75, output: 'latents' });
    } finally {
      rec.stop();
    }
    expect(result.timesteps).toEqual([876, 751, 626, 501, 376, 251, 126, 1]);
    expect(rec.runs.map((r) => r.inputs.timestep.data[0])).toEqual([126, 1]);
  });

  it('dreamframe render --refiner DIR --refiner-start 0.75 gives the pipeline API result', async () => {
    const dir = join(root, 'cli');
    const saved = join(dir, 'final.bin');
    const code = await main([
      'render', '--model', baseDir, '--refiner', refinerDir, '--refiner-start', '0.75', '--prompt', run.prompt, '--negative', run.negative_prompt,
      '--steps', '10', '--scheduler', 'euler', '--guidance', '5', '--width', '64', '--height', '64',
      '--init-latents', join(cases, run.initial_latents.file), '--save-latents', saved, '--out', join(dir, 'x.png'), '--json',
    ]);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.text());
    expect(summary).toMatchObject({ family: 'sdxl-base', refinerFamily: 'sdxl-refiner', steps: 10, provider: 'cpu', refinerProvider: 'cpu' });
    const buf = readFileSync(saved);
    const latents = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const api = await base.generate({ ...common, initLatents: f32(cases, run.initial_latents), refiner, refinerStart: 0.75, output: 'latents' });
    expect(maxAbsDiff(latents, api.latents)).toBeLessThan(1e-5);
  });

  it('img2img with the refiner alone: starts from the encoded image plus noise at σ(401), time ids with the aesthetic score', async () => {
    const i2i = readCase(cases, 'img2img.json'); // strength 0.5 on 10 steps: timesteps 401 … 1
    const rec = recordRuns(refiner.model.unet.s.session);
    let result;
    try {
      result = await refiner.img2img({
        ...common,
        strength: i2i.strength,
        image: { data: f32(cases, i2i.image_01), width: 64, height: 64 },
        posteriorNoise: f32(cases, i2i.posterior_eps),
        initLatents: f32(cases, i2i.noise),
      });
    } finally {
      rec.stop();
    }
    expect(result.timesteps).toEqual(i2i.step_timesteps.map(Number));
    expect(rec.runs.map((r) => r.inputs.timestep.data[0])).toEqual(i2i.step_timesteps.map(Number));
    // Same VAE, posterior noise and start noise as the reference img2img run: the same first latents.
    const sigma = sigmaOf(401);
    const start = rec.runs[0].inputs.sample.data.subarray(0, PLANE).map((v) => v * Math.sqrt(sigma * sigma + 1));
    const expectedStart = item(f32(cases, i2i.latents_before_step), 0, PLANE);
    expect(maxAbsDiff(start, expectedStart)).toBeLessThan(1e-4 * (1 + absMax(expectedStart)));
    for (const r of rec.runs) expect(rowsOf(r.inputs.time_ids.data, 5)).toEqual([[64, 64, 0, 0, 2.5], [64, 64, 0, 0, 6]]);
    expect(eulerReplayError(rec.runs, result.latents, 5)).toBeLessThan(1e-5);
    expect(result.images).toHaveLength(1);
    expect(result.rgb[0].length).toBe(64 * 64 * 3);
  });

  it('a time_ids width the export left symbolic is taken as 5 for a refiner (requires_aesthetics_score)', async () => {
    const dir = makeSdxlRefinerVariant(tinySdxlDir, join(root, 'refiner-dynamic'), { dynamicTimeIdsWidth: true });
    const model = await loadModelFolder(dir, { threads: 1 });
    const pipe = new DiffusionPipeline(model);
    try {
      expect(model.unet.s.inputs.get('time_ids')!.shape[1]).toBe('time_ids_width');
      expect([model.info.family, model.unet.timeIdsLength]).toEqual(['sdxl-refiner', 5]);
      const result = await pipe.generate({ ...common, steps: 2, seed: 1, output: 'latents' });
      expect(result.latents.every(Number.isFinite)).toBe(true);
    } finally {
      await pipe.release();
    }
  });

  it('a refiner folder holding the base UNet (64-wide context) is refused, naming the UNet file', async () => {
    const dir = makeSdxlRefinerVariant(tinySdxlDir, join(root, 'refiner-base-unet'), { keepBaseUnet: true });
    await expect(loadModelFolder(dir, { threads: 1 })).rejects.toMatchObject({
      code: 'diffusion.model_mismatch',
      message: expect.stringContaining(join(dir, 'unet/model.onnx')),
    });
  });
});
