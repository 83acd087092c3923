import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createScheduler,
  ddpmAddNoise,
  alphasCumprodFor,
  readSchedulerConfig,
  type NoiseSource,
  type SchedulerName,
} from '../../src/main/diffusion/schedulers/index';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { absMax, f32, item, maxAbsDiff, readCase } from './fixture-io';

const fixtureKeyToName: Record<string, SchedulerName> = {
  ddim: 'ddim',
  pndm: 'pndm',
  euler: 'euler',
  euler_ancestral: 'euler-a',
  dpmsolver_multistep: 'dpmpp-2m',
  lms: 'lms',
};

/** One scheduler step against a reference: atol 1e-4 + rtol 1e-5 (fixture README). */
function expectClose(actual: Float32Array, expected: Float32Array, atol = 1e-4, rtol = 1e-5): void {
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    worst = Math.max(worst, excess);
  }
  expect(worst).toBe(0);
}

class ReplayNoise implements NoiseSource {
  private next = 0;
  constructor(private readonly noise: Float32Array, private readonly size: number) {}
  fillNormal(out: Float32Array): void {
    out.set(item(this.noise, this.next++, this.size));
  }
}

for (const [label, dir] of [['tiny-sd15', tinySd15Dir], ['tiny-sdxl', tinySdxlDir]] as const) {
  const cases = join(dir, 'cases');
  const config = readSchedulerConfig(join(dir, 'pipeline/scheduler/scheduler_config.json'));
  const table = readCase(cases, 'schedulers.json').schedulers;

  describe(`${label}: set_timesteps for every scheduler and step count`, () => {
    for (const [key, entry] of Object.entries<any>(table)) {
      it(key, () => {
        for (const [steps, ref] of Object.entries<any>(entry.by_steps)) {
          const s = createScheduler(fixtureKeyToName[key], config, Number(steps));
          expect(Array.from(s.timesteps), `${key} ${steps} steps`).toEqual(ref.timesteps.map(Number));
          // float32 tables: a few ulp of difference from torch's own accumulation order
          expect(Math.abs(s.initNoiseSigma - ref.init_noise_sigma)).toBeLessThan(2e-6 * ref.init_noise_sigma);
          if (ref.sigmas) {
            const sigmas = (s as unknown as { sigmas: Float64Array }).sigmas;
            expect(maxAbsDiff(sigmas, ref.sigmas)).toBeLessThan(2e-6 * ref.sigmas[0]);
          }
        }
      });
    }
  });
}

describe('tiny-sd15: every scheduler replays the reference txt2img steps', () => {
  const cases = join(tinySd15Dir, 'cases');
  const config = readSchedulerConfig(join(tinySd15Dir, 'pipeline/scheduler/scheduler_config.json'));
  for (const key of Object.keys(fixtureKeyToName)) {
    it(key, () => {
      const run = readCase(cases, `txt2img_${key}.json`);
      const s = createScheduler(fixtureKeyToName[key], config, run.num_inference_steps);
      expect(Array.from(s.timesteps)).toEqual(run.step_timesteps.map(Number));
      const before = f32(cases, run.latents_before_step);
      const modelInput = f32(cases, run.model_input);
      const guided = f32(cases, run.noise_pred_guided);
      const after = f32(cases, run.latents_after_step);
      const size = 4 * 32 * 32;
      const noise = run.ancestral_noise ? new ReplayNoise(f32(cases, run.ancestral_noise), size) : undefined;
      const out = new Float32Array(size);
      // The first sample is the initial latents scaled by init_noise_sigma.
      const init = f32(cases, run.initial_latents).map((v) => v * s.initNoiseSigma);
      expectClose(item(before, 0, size), init);
      for (let i = 0; i < run.num_unet_evaluations; i++) {
        s.scaleModelInput(item(before, i, size), i, out);
        expectClose(out, item(modelInput, i, size));
        s.step(i, item(guided, i, size), item(before, i, size), out, noise);
        expectClose(out, item(after, i, size));
      }
    });
  }

  it('alphas_cumprod matches the reference float32 table (within a few ulp)', () => {
    const run = readCase(cases, 'txt2img_ddim.json');
    expect(maxAbsDiff(alphasCumprodFor(config), f32(cases, run.alphas_cumprod))).toBeLessThan(5e-7);
  });

  it('an uninterrupted 10-step Euler loop (own latents fed back) stays within the loop tolerance', () => {
    const run = readCase(cases, 'txt2img_euler.json');
    const s = createScheduler('euler', config, 10);
    const guided = f32(cases, run.noise_pred_guided);
    const after = f32(cases, run.latents_after_step);
    const size = 4096;
    const x = f32(cases, run.initial_latents).map((v) => v * s.initNoiseSigma);
    for (let i = 0; i < 10; i++) s.step(i, item(guided, i, size), x, x);
    expect(maxAbsDiff(x, item(after, 9, size))).toBeLessThan(1e-3 * Math.max(1, absMax(item(after, 9, size)) / 10));
  });
});

describe('tiny-sdxl: Euler (leading spacing) replays the reference steps', () => {
  const cases = join(tinySdxlDir, 'cases');
  const config = readSchedulerConfig(join(tinySdxlDir, 'pipeline/scheduler/scheduler_config.json'));
  for (const name of ['txt2img_euler.json', 'txt2img_euler_negative_prompt.json']) {
    it(name, () => {
      const run = readCase(cases, name);
      const s = createScheduler('euler', config, 10);
      const before = f32(cases, run.latents_before_step);
      const guided = f32(cases, run.noise_pred_guided);
      const after = f32(cases, run.latents_after_step);
      const out = new Float32Array(4096);
      for (let i = 0; i < 10; i++) {
        s.step(i, item(guided, i, 4096), item(before, i, 4096), out);
        expectClose(out, item(after, i, 4096));
      }
    });
  }

  it('img2img: noise added at σ(401) gives the first latents', () => {
    const run = readCase(cases, 'img2img.json');
    const s = createScheduler('euler', config, 10);
    const start = Array.from(s.timesteps).indexOf(401);
    const out = new Float32Array(4096);
    s.addNoise(f32(cases, run.init_latents), f32(cases, run.noise), start, out);
    expectClose(out, item(f32(cases, run.latents_before_step), 0, 4096));
  });
});

describe('DDPM add_noise (training)', () => {
  it('matches the textual-inversion noisy latents at every recorded timestep', () => {
    const cases = join(tinySd15Dir, 'cases');
    const config = readSchedulerConfig(join(tinySd15Dir, 'pipeline/scheduler/scheduler_config.json'));
    const ti = readCase(cases, 'textual_inversion.json');
    const latents = f32(cases, ti.latents);
    const noise = f32(cases, ti.noise);
    for (const c of ti.cases) {
      const noisy = ddpmAddNoise(config, latents, noise, [c.t]);
      expect(maxAbsDiff(noisy, f32(cases, c.noisy_latents))).toBeLessThan(1e-5);
    }
  });
});

describe('scheduler options', () => {
  const config = readSchedulerConfig(join(tinySd15Dir, 'pipeline/scheduler/scheduler_config.json'));
  it('Karras sigmas run from σ_max to σ_min with ρ = 7 spacing, and timesteps follow them', () => {
    const s = createScheduler('euler', config, 10, { karras: true }) as unknown as { sigmas: Float64Array; timesteps: Float64Array };
    const plain = createScheduler('euler', config, 10) as unknown as { sigmas: Float64Array };
    expect(s.sigmas[0]).toBeCloseTo(plain.sigmas[0], 4);
    expect(s.sigmas[9]).toBeCloseTo(plain.sigmas[9], 4);
    const inv = Array.from(s.sigmas.slice(0, 10), (v) => v ** (1 / 7));
    const gaps = inv.slice(1).map((v, i) => inv[i] - v);
    for (const g of gaps) expect(g).toBeCloseTo(gaps[0], 4);
    expect(s.timesteps[0]).toBeCloseTo(999, 3);
    const dpm = createScheduler('dpmpp-2m', config, 10, { karras: true });
    expect(dpm.timesteps[0]).toBe(999);
    expect(dpm.timesteps.length).toBe(10);
  });

  it('trailing spacing ends at the last training timestep', () => {
    expect(Array.from(createScheduler('ddim', config, 10, { timestepSpacing: 'trailing' }).timesteps)).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    expect(createScheduler('euler', config, 4, { timestepSpacing: 'trailing' }).timesteps[0]).toBe(999);
  });

  it('v-prediction DDIM recovers x0 from v = √ᾱ·ε − √(1−ᾱ)·x0', () => {
    const s = createScheduler('ddim', config, 10, { predictionType: 'v_prediction' });
    const alphas = alphasCumprodFor(config);
    const t = s.timesteps[0];
    const a = alphas[t];
    const x0 = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i));
    const eps = Float32Array.from({ length: 16 }, (_, i) => Math.cos(3 * i));
    const xt = x0.map((v, i) => Math.sqrt(a) * v + Math.sqrt(1 - a) * eps[i]);
    const vPred = x0.map((v, i) => Math.sqrt(a) * eps[i] - Math.sqrt(1 - a) * v);
    const out = new Float32Array(16);
    s.step(0, vPred, xt, out);
    const aPrev = alphas[t - 100];
    const expected = x0.map((v, i) => Math.sqrt(aPrev) * v + Math.sqrt(1 - aPrev) * eps[i]);
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-5);
  });
});
