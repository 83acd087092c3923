import { alphasCumprodFor, interpIndex, karrasSigmas, sigmaScheduleTimesteps, sigmaToT, trainSigmas } from './schedule-math';
import type { SchedulerConfig } from './types';

/** Timesteps and σ table shared by the k-diffusion-style schedulers (Euler, Euler ancestral, LMS). */
export interface SigmaSchedule {
  timesteps: Float64Array;
  /** n + 1 values (last 0), rounded to float32 like the reference. */
  sigmas: Float64Array;
  initNoiseSigma: number;
}

export function buildSigmaSchedule(config: SchedulerConfig, steps: number): SigmaSchedule {
  const spacing = config.timestepSpacing ?? 'linspace';
  const train = trainSigmas(alphasCumprodFor(config));
  let timesteps = sigmaScheduleTimesteps(config, spacing, steps);
  let sigmas = timesteps.map((t) => interpIndex(t, train));
  if (config.useKarrasSigmas) {
    const logSigmas = train.map(Math.log);
    sigmas = karrasSigmas(sigmas[0], sigmas[sigmas.length - 1], steps);
    timesteps = sigmas.map((s) => sigmaToT(s, logSigmas));
  }
  const table = Float64Array.from([...sigmas, 0], Math.fround);
  const max = Math.max(...table);
  const initNoiseSigma = spacing === 'linspace' || spacing === 'trailing' ? max : Math.sqrt(max * max + 1);
  return { timesteps: Float64Array.from(timesteps), sigmas: table, initNoiseSigma };
}

/** x / √(σ² + 1): the model input scaling of the σ-parameterised schedulers. */
export function scaleBySigma(sample: Float32Array, sigma: number, out: Float32Array): void {
  const k = 1 / Math.sqrt(sigma * sigma + 1);
  for (let i = 0; i < out.length; i++) out[i] = sample[i] * k;
}

/** x0 prediction from the model output in σ-space (ε or v), as diffusers' Euler/LMS. */
export function predictX0(sample: number, modelOutput: number, sigma: number, vPrediction: boolean): number {
  if (!vPrediction) return sample - sigma * modelOutput;
  return modelOutput * (-sigma / Math.sqrt(sigma * sigma + 1)) + sample / (sigma * sigma + 1);
}

/** img2img: x0 + σ·ε. */
export function addSigmaNoise(original: Float32Array, noise: Float32Array, sigma: number, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = original[i] + noise[i] * sigma;
}

/**
 * What the sigma-space schedulers (Euler, Euler ancestral, LMS) share: the Karras/diffusers sigma
 * schedule and the input scaling x / sqrt(σ² + 1). Subclasses add only their step rule.
 */
export abstract class SigmaScheduler {
  readonly timesteps: Float64Array;
  readonly sigmas: Float64Array;
  readonly initNoiseSigma: number;

  constructor(protected readonly config: SchedulerConfig, steps: number) {
    const s = buildSigmaSchedule(config, steps);
    this.timesteps = s.timesteps;
    this.sigmas = s.sigmas;
    this.initNoiseSigma = s.initNoiseSigma;
  }

  scaleModelInput(sample: Float32Array, index: number, out: Float32Array): void {
    scaleBySigma(sample, this.sigmas[index], out);
  }
}
