import { AppError } from '../../../shared/errors';
import { effectiveConfig } from './config';
import { DdimScheduler } from './ddim';
import { DpmppTwoMScheduler } from './dpmpp-2m';
import { EulerScheduler } from './euler';
import { EulerAncestralScheduler } from './euler-ancestral';
import { LmsScheduler } from './lms';
import { PndmScheduler } from './pndm';
import { alphasCumprodFor, ddpmAddNoiseInto } from './schedule-math';
import { SCHEDULER_NAMES, type Scheduler, type SchedulerConfig, type SchedulerName, type SchedulerOptions } from './types';

export * from './types';
export { parseSchedulerConfig, readSchedulerConfig, DEFAULT_SCHEDULER_CONFIG } from './config';
export { alphasCumprodFor } from './schedule-math';

/** A fresh scheduler (its own multistep state) with `steps` inference steps set. */
export function createScheduler(name: SchedulerName, config: SchedulerConfig, steps: number, opts: SchedulerOptions = {}): Scheduler {
  if (!Number.isInteger(steps) || steps < 1 || steps > config.numTrainTimesteps) {
    throw new AppError('diffusion.bad_request', `steps must be an integer in 1..${config.numTrainTimesteps}, got ${steps}`);
  }
  const cfg = effectiveConfig(config, opts);
  switch (name) {
    case 'ddim':
      return new DdimScheduler(cfg, steps);
    case 'pndm':
      return new PndmScheduler(cfg, steps);
    case 'euler':
      return new EulerScheduler(cfg, steps);
    case 'euler-a':
      return new EulerAncestralScheduler(cfg, steps);
    case 'dpmpp-2m':
      return new DpmppTwoMScheduler(cfg, steps);
    case 'lms':
      return new LmsScheduler(cfg, steps);
    default:
      throw new AppError('diffusion.bad_request', `unknown scheduler ${JSON.stringify(name)}; use one of ${SCHEDULER_NAMES.join(', ')}`);
  }
}

/** Maps a diffusers scheduler class name (scheduler_config.json `_class_name`) to ours, if we have it. */
export function schedulerNameForClass(className: string | undefined): SchedulerName | undefined {
  const table: Record<string, SchedulerName> = {
    DDIMScheduler: 'ddim',
    PNDMScheduler: 'pndm',
    EulerDiscreteScheduler: 'euler',
    EulerAncestralDiscreteScheduler: 'euler-a',
    DPMSolverMultistepScheduler: 'dpmpp-2m',
    LMSDiscreteScheduler: 'lms',
  };
  return className ? table[className] : undefined;
}

/**
 * DDPM forward noising for training: x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε, per batch item timestep.
 * `original`, `noise` are [B, ...]; `timesteps` has B entries (or one, broadcast).
 */
export function ddpmAddNoise(config: SchedulerConfig, original: Float32Array, noise: Float32Array, timesteps: ArrayLike<number>): Float32Array {
  const alphas = alphasCumprodFor(config);
  const out = new Float32Array(original.length);
  const batch = timesteps.length;
  const per = original.length / batch;
  for (let b = 0; b < batch; b++) {
    const t = timesteps[b];
    if (!(t >= 0 && t < alphas.length)) throw new AppError('diffusion.bad_request', `timestep ${t} outside 0..${alphas.length - 1}`);
    ddpmAddNoiseInto(alphas, original.subarray(b * per, (b + 1) * per), noise.subarray(b * per, (b + 1) * per), t, out.subarray(b * per, (b + 1) * per));
  }
  return out;
}
