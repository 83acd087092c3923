import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionPipeline } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { recordRuns, type RecordedRun } from '../support/model-variants/record-runs';
import { makeSd2Variant } from '../support/model-variants/sd2';
import { tinySd15Dir } from '../support/paths';
import { f32, f64, ints, maxAbsDiff, readCase } from './fixture-io';

/**
 * SD 2.x folders (v-prediction and epsilon) made from tiny-sd15 (test/support/model-variants/sd2.ts): family
 * detection, "!" padding (id 0) reaching the text encoder, and v-prediction end to end, each DDIM step recomputed
 * here from the UNet output the pipeline really got.
 */

const cases = join(tinySd15Dir, 'cases');
const run = readCase(cases, 'txt2img_ddim.json'); // the fixture's [uncond "", cond] ids, embeddings and ᾱ
const EOS = 49407;
const SEQ = 77;
const WIDTH = 32;
const PLANE = 4 * 32 * 32;

let root: string;
let vpred: DiffusionPipeline;
let eps: DiffusionPipeline;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dreamframe-sd2-'));
  vpred = await DiffusionPipeline.load(makeSd2Variant(tinySd15Dir, join(root, 'sd2-v'), 'v_prediction'), { threads: 1 });
  eps = await DiffusionPipeline.load(makeSd2Variant(tinySd15Dir, join(root, 'sd2-eps'), 'epsilon'), { threads: 1 });
});
afterAll(async () => {
  await vpred?.release();
  await eps?.release();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** SD 1.x ids (padded with EOS) as SD 2.x pads them: everything after the first EOS becomes 0. */
function padWithZero(ids: number[]): number[] {
  const eos = ids.indexOf(EOS);
  return ids.map((id, i) => (i > eos ? 0 : id));
}

describe('SD 2.x variant of tiny-sd15', () => {
  it('is identified as SD 2.x with the prediction type of its scheduler config', () => {
    expect(vpred.model.info).toMatchObject({ family: 'sd2', predictionType: 'v_prediction', defaultScheduler: 'ddim', layout: 'diffusers-script' });
    expect(eps.model.info).toMatchObject({ family: 'sd2', predictionType: 'epsilon', defaultScheduler: 'ddim' });
    expect(vpred.model.tokenizer!.special).toMatchObject({ padToken: '!', padId: 0, eosId: EOS });
  });

  it('prompts are padded with id 0, and the 0-padded ids are what the text encoder receives', async () => {
    const sd15Ids = ints(cases, run.prompt_input_ids); // [uncond, cond], padded with 49407
    const expected = [padWithZero(sd15Ids.slice(0, SEQ)), padWithZero(sd15Ids.slice(SEQ))];
    expect(expected[1].filter((id) => id === 0).length).toBeGreaterThan(60);
    expect(vpred.model.tokenizer!.encode(run.prompt)).toEqual(expected[1]);

    const rec = recordRuns(vpred.model.textEncoder!.s.session);
    let cond;
    try {
      cond = await vpred.conditioning([run.prompt], [run.negative_prompt], true, { width: 64, height: 64 });
    } finally {
      rec.stop();
    }
    expect(rec.runs).toHaveLength(1);
    expect(Array.from(rec.runs[0].inputs.input_ids.data)).toEqual(expected.flat());
    // The encoder is causal: up to the EOS the states equal SD 1.x's (same ids); after it they come from id 0.
    const sd15Embeds = f32(cases, run.prompt_embeds);
    for (const row of [0, 1]) {
      const eosAt = expected[row].indexOf(EOS);
      const upTo = (a: Float32Array) => a.subarray(row * SEQ * WIDTH, (row * SEQ + eosAt + 1) * WIDTH);
      const after = (a: Float32Array) => a.subarray((row * SEQ + eosAt + 1) * WIDTH, (row + 1) * SEQ * WIDTH);
      expect(maxAbsDiff(upTo(cond.hidden), upTo(sd15Embeds))).toBeLessThan(1e-4);
      expect(maxAbsDiff(after(cond.hidden), after(sd15Embeds))).toBeGreaterThan(1e-2);
    }
  });

  it('txt2img runs v-prediction end to end: every DDIM step equals x0 = √ᾱ·x − √(1−ᾱ)·v recomputed here', async () => {
    const alphas = f64(cases, run.alphas_cumprod); // the reference library's ᾱ (float32 as torch computes them)
    const options = { prompt: run.prompt, negativePrompt: '', steps: 10, guidance: 7.5, width: 64, height: 64, seed: 11 };
    const recV = recordRuns(vpred.model.unet.s.session);
    const recE = recordRuns(eps.model.unet.s.session);
    let v;
    let e;
    try {
      v = await vpred.txt2img(options); // scheduler left out: the folder's own (DDIM)
      e = await eps.txt2img(options);
    } finally {
      recV.stop();
      recE.stop();
    }
    const timesteps = [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]; // leading spacing, steps_offset 1
    expect(v.timesteps).toEqual(timesteps);
    expect(recV.runs.map((r) => r.inputs.timestep.data[0])).toEqual(timesteps);

    /** Replays DDIM (η = 0) on the recorded UNet calls; returns the max error against what the pipeline did. */
    const replay = (runs: RecordedRun[], final: Float32Array, rule: 'v' | 'eps'): number => {
      let worst = 0;
      for (let k = 0; k < runs.length; k++) {
        const x = runs[k].inputs.sample.data.subarray(0, PLANE); // DDIM feeds the latents unscaled; [x, x] for CFG
        const out = runs[k].outputs.out_sample.data;
        const t = timesteps[k];
        const a = alphas[t];
        const aPrev = t - 100 >= 0 ? alphas[t - 100] : alphas[0]; // set_alpha_to_one false
        const next = k + 1 < runs.length ? runs[k + 1].inputs.sample.data.subarray(0, PLANE) : Float64Array.from(final);
        for (let i = 0; i < PLANE; i++) {
          const m = out[i] + 7.5 * (out[PLANE + i] - out[i]);
          const x0 = rule === 'v' ? Math.sqrt(a) * x[i] - Math.sqrt(1 - a) * m : (x[i] - Math.sqrt(1 - a) * m) / Math.sqrt(a);
          const epsilon = rule === 'v' ? Math.sqrt(a) * m + Math.sqrt(1 - a) * x[i] : m;
          const expected = Math.sqrt(aPrev) * x0 + Math.sqrt(1 - aPrev) * epsilon;
          worst = Math.max(worst, Math.abs(next[i] - expected) / (1 + Math.abs(expected)));
        }
      }
      return worst;
    };
    expect(replay(recV.runs, v.latents, 'v')).toBeLessThan(1e-4);
    expect(replay(recE.runs, e.latents, 'eps')).toBeLessThan(1e-4);
    // The v run is not an epsilon run: the epsilon rule does not explain its steps.
    expect(replay(recV.runs, v.latents, 'eps')).toBeGreaterThan(1e-2);

    // Same seed, same conditioning: the first UNet call is identical; the prediction type changes every step after.
    expect(maxAbsDiff(recV.runs[0].inputs.sample.data, recE.runs[0].inputs.sample.data)).toBe(0);
    expect(maxAbsDiff(recV.runs[0].outputs.out_sample.data, recE.runs[0].outputs.out_sample.data)).toBeLessThan(1e-6);
    expect(maxAbsDiff(recV.runs[1].inputs.sample.data, recE.runs[1].inputs.sample.data)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(v.latents, e.latents)).toBeGreaterThan(1e-1);
    expect(v.images).toHaveLength(1);
    expect(v.rgb[0].every((p) => p >= 0 && p <= 1)).toBe(true);
  });
});
