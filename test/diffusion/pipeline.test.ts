import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionPipeline, type StepInfo } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { SeededRandom } from '../../src/main/diffusion/pipeline/rng';
import type { NoiseSource, SchedulerName } from '../../src/main/diffusion/schedulers/index';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { expectLatentsClose, f32, item, maxAbsDiff, readCase, txt2imgFromCase } from './fixture-io';

async function pngPixels(png: Buffer | string): Promise<Uint8Array> {
  return new Uint8Array((await sharp(png).removeAlpha().raw().toBuffer()).buffer.slice(0));
}

class ReplayNoise implements NoiseSource {
  private next = 0;
  constructor(private readonly noise: Float32Array, private readonly size: number) {}
  fillNormal(out: Float32Array): void {
    out.set(item(this.noise, this.next++, this.size));
  }
}

const sd15Key: Record<string, SchedulerName> = {
  ddim: 'ddim',
  pndm: 'pndm',
  euler: 'euler',
  euler_ancestral: 'euler-a',
  dpmsolver_multistep: 'dpmpp-2m',
  lms: 'lms',
};

describe('tiny-sd15 text-to-image against the reference runs', () => {
  const cases = join(tinySd15Dir, 'cases');
  let pipe: DiffusionPipeline;
  beforeAll(async () => {
    pipe = await DiffusionPipeline.load(join(tinySd15Dir, 'pipeline'), { threads: 1 });
  });
  afterAll(() => pipe?.release());

  it('prompt conditioning equals the reference prompt_embeds ([uncond, cond])', async () => {
    const run = readCase(cases, 'txt2img_ddim.json');
    const cond = await pipe.conditioning([run.prompt], [run.negative_prompt], true, { width: 64, height: 64 });
    expect(cond.hiddenDims).toEqual([2, 77, 32]);
    expect(maxAbsDiff(cond.hidden, f32(cases, run.prompt_embeds))).toBeLessThan(1e-4);
  });

  for (const [key, name] of Object.entries(sd15Key)) {
    it(`${key}: timesteps, progress, final latents, image and PNG`, async () => {
      const run = readCase(cases, `txt2img_${key}.json`);
      const steps: StepInfo[] = [];
      const result = await pipe.txt2img({
        ...txt2imgFromCase(cases, run, name),
        stepNoise: run.ancestral_noise ? new ReplayNoise(f32(cases, run.ancestral_noise), 4096) : undefined,
        onStep: (s) => steps.push(s),
      });
      expect(result.timesteps).toEqual(run.step_timesteps.map(Number));
      expect(steps.map((s) => s.step)).toEqual(Array.from({ length: run.num_unet_evaluations }, (_, i) => i + 1));
      expect(steps.every((s) => s.totalSteps === run.num_unet_evaluations)).toBe(true);
      const last = run.num_unet_evaluations - 1;
      expectLatentsClose(result.latents, item(f32(cases, run.latents_after_step), last, 4096));
      expect(maxAbsDiff(result.rgb[0], f32(cases, run.image))).toBeLessThan(1e-4);
      const ours = await pngPixels(result.images[0]);
      const ref = await pngPixels(join(cases, run.image_png));
      expect(maxAbsDiff(ours, ref)).toBeLessThanOrEqual(1);
      expect(result.provider).toBe('cpu');
    });
  }

  it('the same seed gives the same image; a batch equals single runs with seed, seed+1', async () => {
    const base = { prompt: 'a castle on a hill', steps: 4, scheduler: 'euler-a' as const, guidance: 7.5 };
    const a = await pipe.generate({ ...base, seed: 1234 });
    const again = await pipe.generate({ ...base, seed: 1234 });
    expect(Buffer.compare(a.images[0], again.images[0])).toBe(0);
    expect(maxAbsDiff(a.latents, again.latents)).toBe(0);
    const batch = await pipe.generate({ ...base, seed: 1234, batchSize: 2 });
    const second = await pipe.generate({ ...base, seed: 1235 });
    expect(batch.latentShape).toEqual([2, 4, 32, 32]);
    expect(batch.seeds).toEqual([1234, 1235]);
    expect(maxAbsDiff(item(batch.latents, 0, 4096), a.latents)).toBeLessThan(1e-4);
    expect(maxAbsDiff(item(batch.latents, 1, 4096), second.latents)).toBeLessThan(1e-4);
    expect(maxAbsDiff(a.latents, second.latents)).toBeGreaterThan(0.1);
  });

  it('the seeded generator draws standard normals', () => {
    const g = new SeededRandom(7);
    const xs = new Float32Array(20000);
    g.fillNormal(xs);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('cancel between steps (AbortSignal) stops the run with diffusion.cancelled', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    await expect(
      pipe.generate({
        prompt: 'a fox',
        steps: 10,
        seed: 1,
        onStep: (s) => {
          seen.push(s.step);
          if (s.step === 3) controller.abort();
        },
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ code: 'diffusion.cancelled' });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('prompts over 75 tokens are encoded in chunks and concatenated; negatives get as many chunks', async () => {
    const long = readCase(cases, 'tokenizer.json').cases.find((c: any) => c.num_tokens_untruncated > 77).prompt;
    const cond = await pipe.conditioning([long], undefined, true, { width: 64, height: 64 });
    expect(cond.hiddenDims).toEqual([2, 154, 32]);
    // The first chunk of the cond row is what the encoder gives for the first 75 tokens on their own.
    const firstChunk = pipe.model.tokenizer!.encode(long);
    const enc = await pipe.model.textEncoder!.encode([firstChunk]);
    expect(maxAbsDiff(cond.hidden.subarray(154 * 32, 154 * 32 + 77 * 32), enc.lastHidden)).toBeLessThan(1e-5);
    const result = await pipe.generate({ prompt: long, steps: 2, seed: 3, output: 'latents' });
    expect(result.images).toHaveLength(0);
    expect(result.latents.every(Number.isFinite)).toBe(true);
  });

  it('a refiner hand-off with SD 1.x models is refused before any work', async () => {
    await expect(pipe.generate({ prompt: 'x', steps: 2, refiner: pipe })).rejects.toMatchObject({ code: 'diffusion.bad_request' });
  });

  it('weighted prompt: ((phrase)) changes the conditioning, (phrase:1) does not', async () => {
    const plain = await pipe.conditioning(['a red fox'], undefined, false, { width: 64, height: 64 });
    const neutral = await pipe.conditioning(['a (red:1) fox'], undefined, false, { width: 64, height: 64 });
    const strong = await pipe.conditioning(['a ((red)) fox'], undefined, false, { width: 64, height: 64 });
    expect(maxAbsDiff(plain.hidden, neutral.hidden)).toBe(0);
    expect(maxAbsDiff(plain.hidden, strong.hidden)).toBeGreaterThan(1e-3);
  });
});

describe('tiny-sdxl pipelines against the reference runs', () => {
  const cases = join(tinySdxlDir, 'cases');
  let pipe: DiffusionPipeline;
  beforeAll(async () => {
    pipe = await DiffusionPipeline.load(join(tinySdxlDir, 'pipeline'), { threads: 1 });
  });
  afterAll(() => pipe?.release());

  for (const file of ['txt2img_euler.json', 'txt2img_euler_negative_prompt.json']) {
    it(`${file}: prompt_embeds, text_embeds, time_ids, final latents and image`, async () => {
      const run = readCase(cases, file);
      const negative = run.negative_prompt ?? undefined;
      const cond = await pipe.conditioning([run.prompt], negative === undefined ? undefined : [negative], true, { width: 64, height: 64 });
      expect(maxAbsDiff(cond.hidden, f32(cases, run.prompt_embeds))).toBeLessThan(1e-4);
      expect(maxAbsDiff(cond.textEmbeds!, f32(cases, run.add_text_embeds))).toBeLessThan(1e-4);
      expect(Array.from(cond.timeIds!)).toEqual(Array.from(f32(cases, run.add_time_ids)));
      const result = await pipe.generate({
        prompt: run.prompt,
        negativePrompt: negative,
        steps: run.num_inference_steps,
        scheduler: 'euler',
        guidance: run.guidance_scale,
        width: 64,
        height: 64,
        initLatents: f32(cases, run.initial_latents),
      });
      expect(result.timesteps).toEqual(run.step_timesteps.map(Number));
      expectLatentsClose(result.latents, item(f32(cases, run.latents_after_step), 9, 4096));
      expect(maxAbsDiff(result.rgb[0], f32(cases, run.image))).toBeLessThan(1e-4);
      expect(maxAbsDiff(await pngPixels(result.images[0]), await pngPixels(join(cases, run.image_png)))).toBeLessThanOrEqual(1);
    });
  }

  it('base → refiner hand-off at 0.75: base runs 901…301, refiner 201…1 from the hand-off latents', async () => {
    const run = readCase(cases, 'base_refiner.json');
    const common = { prompt: run.prompt, steps: 10, scheduler: 'euler' as const, guidance: run.guidance_scale, width: 64, height: 64 };
    const base = await pipe.generate({ ...common, initLatents: f32(cases, run.initial_latents), denoisingEnd: run.denoising_end });
    expect(base.images).toHaveLength(0);
    expect(base.timesteps).toEqual(run.base.step_timesteps.map(Number));
    expectLatentsClose(base.latents, f32(cases, run.handoff_latents));

    const refiner = await DiffusionPipeline.load(join(tinySdxlDir, 'pipeline'), { threads: 1 });
    try {
      const steps: StepInfo[] = [];
      const both = await pipe.generate({ ...common, initLatents: f32(cases, run.initial_latents), refiner, refinerStart: 0.75, onStep: (s) => steps.push(s) });
      expect(both.timesteps).toEqual([...run.base.step_timesteps, ...run.refiner.step_timesteps].map(Number));
      expect(steps.map((s) => s.stage)).toEqual([...Array(7).fill('base'), ...Array(3).fill('refiner')]);
      expectLatentsClose(both.latents, item(f32(cases, run.refiner.latents_after_step), 2, 4096));
      expect(maxAbsDiff(both.rgb[0], f32(cases, run.image))).toBeLessThan(1e-4);
      // The refiner on its own continues given latents from the same fraction.
      const alone = await refiner.generate({ ...common, startLatents: f32(cases, run.handoff_latents), denoisingStart: 0.75 });
      expect(alone.timesteps).toEqual(run.refiner.step_timesteps.map(Number));
      expectLatentsClose(alone.latents, item(f32(cases, run.refiner.latents_after_step), 2, 4096));
    } finally {
      await refiner.release();
    }
  });

  it('image-to-image at strength 0.5 with the recorded posterior and start noise', async () => {
    const run = readCase(cases, 'img2img.json');
    const result = await pipe.img2img({
      prompt: run.prompt,
      steps: run.num_inference_steps,
      scheduler: 'euler',
      guidance: run.guidance_scale,
      strength: run.strength,
      image: { data: f32(cases, run.image_01), width: 64, height: 64 },
      posteriorNoise: f32(cases, run.posterior_eps),
      initLatents: f32(cases, run.noise),
    });
    expect(result.timesteps).toEqual(run.step_timesteps.map(Number));
    expectLatentsClose(result.latents, item(f32(cases, run.latents_after_step), run.num_unet_evaluations - 1, 4096));
    expect(maxAbsDiff(result.rgb[0], f32(cases, run.image))).toBeLessThan(1e-4);
  });

  it('encodeImage returns the posterior mean × scaling factor', async () => {
    const c = readCase(cases, 'vae.json').encode_cases[0];
    const m11 = f32(cases, c.sample);
    const { latents, dims } = await pipe.encodeImage({ data: m11.map((v) => (v + 1) / 2), width: 64, height: 64 });
    expect(dims).toEqual([1, 4, 32, 32]);
    expect(maxAbsDiff(latents, f32(cases, c.scaled_mean))).toBeLessThan(1e-4);
  });
});
