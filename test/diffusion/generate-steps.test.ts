import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInputs, planStages, prepareLatents } from '../../src/main/diffusion/pipeline/generate-steps';
import { SeededRandom } from '../../src/main/diffusion/pipeline/rng';
import { DiffusionPipeline } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { createScheduler } from '../../src/main/diffusion/schedulers/index';
import { tinySd15Dir } from '../support/paths';

/** The steps of generate() one at a time, on the tiny SD 1.5 fixture's loaded model (VAE factor 2, 4 latent channels). */
describe('generate() steps on their own', () => {
  let pipe: DiffusionPipeline;
  beforeAll(async () => { pipe = await DiffusionPipeline.load(join(tinySd15Dir, 'pipeline'), { threads: 1 }); });
  afterAll(() => pipe?.release());

  it('check inputs: defaults to the native size and SD guidance, batches each prompt, and refuses sizes naming the value', () => {
    const req = checkInputs(pipe.model, { prompt: ['a', 'b'], batchSize: 2, seed: 9 });
    expect(req.prompts).toEqual(['a', 'a', 'b', 'b']);
    expect([req.width, req.height]).toEqual([64, 64]);
    expect(req.dims).toEqual([4, 4, 32, 32]);
    expect(req.plane).toBe(4 * 32 * 32);
    expect(req.seeds).toEqual([9, 10, 11, 12]);
    expect([req.guidance, req.cfg]).toEqual([7.5, true]);
    expect(checkInputs(pipe.model, { prompt: 'x', guidance: 1 }).cfg).toBe(false);

    expect(() => checkInputs(pipe.model, { prompt: 'x', width: 63, height: 64 })).toThrow('width and height must be positive multiples of 2 for this model, got 63×64');
    expect(() => checkInputs(pipe.model, { prompt: 'x', width: 64, height: 0 })).toThrow(/got 64×0/);
    expect(() => checkInputs(pipe.model, { prompt: [] })).toThrow(/at least one prompt/);
    expect(() => checkInputs(pipe.model, { prompt: 'x', batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => checkInputs(pipe.model, { prompt: 'x', denoisingEnd: 1.5 })).toThrow(/denoising fraction must be in \(0, 1\), got 1.5/);
    expect(() => checkInputs(pipe.model, { prompt: 'x', image: { width: 64, height: 64 }, strength: 0 })).toThrow(/strength must be in \(0, 1\], got 0/);
    // A refiner needs SDXL on both sides; this is SD 1.5.
    expect(() => checkInputs(pipe.model, { prompt: 'x' }, pipe.model)).toThrow(/SDXL models on both sides \(base sd1, refiner sd1\)/);
  });

  it('prepare latents: the seed alone decides them, image b of a batch is the single run with seed + b, scaled by the initial sigma', () => {
    const scheduler = createScheduler('euler', pipe.model.schedulerConfig, 10);
    const one = (seed: number) => prepareLatents(checkInputs(pipe.model, { prompt: 'x', seed }), scheduler, pipe.model);
    const a = one(1234);
    expect(Array.from(one(1234).latents)).toEqual(Array.from(a.latents));
    expect(Array.from(one(1235).latents)).not.toEqual(Array.from(a.latents));
    expect(a.first).toBe(0);

    // By hand: N(0,1) draws of the documented generator × the Euler schedule's initial sigma.
    const plane = 4 * 32 * 32;
    const drawn = new Float32Array(plane);
    const gen = new SeededRandom(1234);
    gen.fillNormal(drawn);
    const sigma = scheduler.initNoiseSigma;
    expect(sigma).toBeGreaterThan(1);
    expect(Array.from(a.latents)).toEqual(Array.from(drawn.map((v) => v * sigma)));
    // The step-noise stream continues the same generator after the starting draw.
    const next = new Float32Array(8);
    a.noise.fillNormal(next);
    const expected = new Float32Array(8);
    gen.fillNormal(expected);
    expect(Array.from(next)).toEqual(Array.from(expected));

    const batch = prepareLatents(checkInputs(pipe.model, { prompt: 'x', seed: 1234, batchSize: 2 }), scheduler, pipe.model);
    expect(Array.from(batch.latents.subarray(0, plane))).toEqual(Array.from(a.latents));
    expect(Array.from(batch.latents.subarray(plane))).toEqual(Array.from(one(1235).latents));
  });

  it('prepare latents: given latents must have the request\'s shape, and startLatents skip the schedule above denoisingStart', () => {
    const scheduler = createScheduler('euler', pipe.model.schedulerConfig, 10);
    const req = checkInputs(pipe.model, { prompt: 'x', seed: 1 });
    expect(() => prepareLatents(req, scheduler, pipe.model, { initLatents: new Float32Array(5) }))
      .toThrow('initLatents has 5 values, expected 4096 = [1, 4, 32, 32]');
    const start = new Float32Array(4096).fill(0.5);
    const cont = prepareLatents(req, scheduler, pipe.model, { startLatents: start, denoisingStart: 0.75 });
    // Euler over 10 steps: 999, 888, …, 0; below round(1000 × 0.25) = 250 is 222 at index 7.
    expect(Array.from(scheduler.timesteps).map(Math.round)).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    expect(cont.first).toBe(7);
    expect(cont.latents[0]).toBe(0.5);
  });

  it('plan stages: the base runs down to the hand-off and the refiner below it', () => {
    const scheduler = createScheduler('euler', pipe.model.schedulerConfig, 10);
    const whole = planStages(checkInputs(pipe.model, { prompt: 'x' }), 0, scheduler, pipe.model);
    expect(whole).toEqual({ baseIndices: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], refinerIndices: [], totalSteps: 10 });
    const split = planStages(checkInputs(pipe.model, { prompt: 'x', denoisingEnd: 0.75 }), 0, scheduler, pipe.model, scheduler);
    expect(split).toEqual({ baseIndices: [0, 1, 2, 3, 4, 5, 6], refinerIndices: [7, 8, 9], totalSteps: 10 });
  });
});
