import { AppError } from '../../../shared/errors';
import type { SchedulerConfig, TimestepSpacing } from './types';

/** Shared math of the diffusers schedulers: beta schedules, timestep spacing, sigma tables. */

/** numpy's round(): half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** numpy.linspace(start, stop, num). */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => start + i * step);
  out[num - 1] = stop;
  return out;
}

/** numpy.arange(start, stop, step) for a negative step. */
function arangeDown(start: number, stop: number, step: number): number[] {
  const count = Math.ceil((stop - start) / step);
  return Array.from({ length: Math.max(0, count) }, (_, i) => start + i * step);
}

/** numpy.interp for increasing integer x positions 0..ys.length-1. */
export function interpIndex(x: number, ys: ArrayLike<number>): number {
  if (x <= 0) return ys[0];
  if (x >= ys.length - 1) return ys[ys.length - 1];
  const lo = Math.floor(x);
  const w = x - lo;
  return ys[lo] * (1 - w) + ys[lo + 1] * w;
}

export function betasFor(config: SchedulerConfig): Float64Array {
  const n = config.numTrainTimesteps;
  if (config.trainedBetas) return Float64Array.from(config.trainedBetas);
  switch (config.betaSchedule) {
    case 'linear':
      return Float64Array.from(linspace(config.betaStart, config.betaEnd, n), Math.fround);
    case 'scaled_linear':
      // torch.linspace(sqrt(start), sqrt(end), n, float32) ** 2
      return Float64Array.from(linspace(Math.sqrt(config.betaStart), Math.sqrt(config.betaEnd), n), (v) => Math.fround(Math.fround(v) ** 2));
    case 'squaredcos_cap_v2': {
      const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      return Float64Array.from({ length: n }, (_, i) => Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999));
    }
    default:
      throw new AppError('diffusion.scheduler_config', `unsupported beta_schedule ${JSON.stringify(config.betaSchedule)}`);
  }
}

/** ᾱ_t = Π(1 - β), accumulated in float32 as torch does. */
export function alphasCumprodFor(config: SchedulerConfig): Float64Array {
  const betas = betasFor(config);
  const out = new Float64Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc = Math.fround(acc * Math.fround(1 - betas[i]));
    out[i] = acc;
  }
  return out;
}

/** σ_t = √((1 - ᾱ)/ᾱ) for every training timestep. */
export function trainSigmas(alphasCumprod: Float64Array): Float64Array {
  return alphasCumprod.map((a) => Math.sqrt((1 - a) / a));
}

/** Integer timesteps of DDIM / PNDM (before PNDM's reordering), descending. */
export function discreteTimesteps(config: SchedulerConfig, spacing: TimestepSpacing, steps: number): number[] {
  const n = config.numTrainTimesteps;
  if (spacing === 'linspace') return linspace(0, n - 1, steps).map(roundHalfEven).reverse();
  if (spacing === 'leading') {
    const ratio = Math.floor(n / steps);
    return Array.from({ length: steps }, (_, i) => i * ratio + config.stepsOffset).reverse();
  }
  return arangeDown(n, 0, -n / steps).map((t) => roundHalfEven(t) - 1);
}

/** Float timesteps of Euler / Euler ancestral / LMS, descending. */
export function sigmaScheduleTimesteps(config: SchedulerConfig, spacing: TimestepSpacing, steps: number): number[] {
  const n = config.numTrainTimesteps;
  if (spacing === 'linspace') return linspace(0, n - 1, steps).reverse();
  if (spacing === 'leading') {
    const ratio = Math.floor(n / steps);
    return Array.from({ length: steps }, (_, i) => i * ratio + config.stepsOffset).reverse();
  }
  return arangeDown(n, 0, -n / steps).map((t) => roundHalfEven(t) - 1);
}

/** Karras et al. (2022) ρ=7 spacing between in[0] and in[last]. */
export function karrasSigmas(first: number, last: number, steps: number): number[] {
  const rho = 7;
  const maxInv = first ** (1 / rho);
  const minInv = last ** (1 / rho);
  return linspace(0, 1, steps).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/** Inverse of the σ table: fractional training timestep whose log σ interpolates to log `sigma`. */
export function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(sigma);
  let lowIdx = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) lowIdx = i;
  lowIdx = Math.min(lowIdx, logSigmas.length - 2);
  const low = logSigmas[lowIdx];
  const high = logSigmas[lowIdx + 1];
  const w = Math.min(1, Math.max(0, (low - logSigma) / (low - high)));
  return (1 - w) * lowIdx + w * (lowIdx + 1);
}

/** DDPM forward process q(x_t | x_0): √ᾱ·x0 + √(1-ᾱ)·ε. */
export function ddpmAddNoiseInto(
  alphasCumprod: Float64Array,
  original: Float32Array,
  noise: Float32Array,
  timestep: number,
  out: Float32Array,
): void {
  const a = alphasCumprod[Math.round(timestep)];
  const sa = Math.sqrt(a);
  const sb = Math.sqrt(1 - a);
  for (let i = 0; i < out.length; i++) out[i] = sa * original[i] + sb * noise[i];
}
