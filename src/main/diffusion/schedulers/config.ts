import { existsSync, readFileSync } from 'node:fs';
import { AppError } from '../../../shared/errors';
import type { PredictionType, SchedulerConfig, SchedulerOptions, TimestepSpacing } from './types';

/** SD 1.5's scheduler config; used when a model folder has no scheduler/scheduler_config.json. */
export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  trainedBetas: null,
  predictionType: 'epsilon',
  timestepSpacing: undefined,
  stepsOffset: 1,
  setAlphaToOne: false,
  useKarrasSigmas: false,
};

const SPACINGS: TimestepSpacing[] = ['leading', 'trailing', 'linspace'];
const PREDICTIONS: PredictionType[] = ['epsilon', 'v_prediction'];

/** Parses a diffusers scheduler_config.json object (snake_case keys) into a SchedulerConfig. */
export function parseSchedulerConfig(raw: Record<string, unknown>, source = 'scheduler_config.json'): SchedulerConfig {
  const num = (key: string, fallback: number): number => {
    const v = raw[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new AppError('diffusion.scheduler_config', `${source}: ${key} must be a number, got ${JSON.stringify(v)}`, { key });
    }
    return v;
  };
  const spacing = raw.timestep_spacing;
  if (spacing !== undefined && !SPACINGS.includes(spacing as TimestepSpacing)) {
    throw new AppError('diffusion.scheduler_config', `${source}: unsupported timestep_spacing ${JSON.stringify(spacing)}`);
  }
  const prediction = raw.prediction_type ?? 'epsilon';
  if (!PREDICTIONS.includes(prediction as PredictionType)) {
    throw new AppError('diffusion.scheduler_config', `${source}: unsupported prediction_type ${JSON.stringify(prediction)}`);
  }
  const schedule = raw.beta_schedule ?? 'scaled_linear';
  if (!['linear', 'scaled_linear', 'squaredcos_cap_v2'].includes(schedule as string)) {
    throw new AppError('diffusion.scheduler_config', `${source}: unsupported beta_schedule ${JSON.stringify(schedule)}`);
  }
  return {
    numTrainTimesteps: num('num_train_timesteps', 1000),
    betaStart: num('beta_start', 0.0001),
    betaEnd: num('beta_end', 0.02),
    betaSchedule: schedule as SchedulerConfig['betaSchedule'],
    trainedBetas: Array.isArray(raw.trained_betas) ? (raw.trained_betas as number[]) : null,
    predictionType: prediction as PredictionType,
    timestepSpacing: spacing as TimestepSpacing | undefined,
    stepsOffset: num('steps_offset', 0),
    setAlphaToOne: raw.set_alpha_to_one === undefined ? true : raw.set_alpha_to_one === true,
    useKarrasSigmas: raw.use_karras_sigmas === true,
  };
}

export function readSchedulerConfig(path: string): SchedulerConfig {
  if (!existsSync(path)) return DEFAULT_SCHEDULER_CONFIG;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AppError('diffusion.scheduler_config', `${path}: invalid JSON (${(err as Error).message})`, { path });
  }
  return parseSchedulerConfig(raw as Record<string, unknown>, path);
}

/** The config with per-run overrides applied. */
export function effectiveConfig(config: SchedulerConfig, opts: SchedulerOptions): SchedulerConfig {
  return {
    ...config,
    predictionType: opts.predictionType ?? config.predictionType,
    timestepSpacing: opts.timestepSpacing ?? config.timestepSpacing,
    useKarrasSigmas: opts.karras ?? config.useKarrasSigmas,
  };
}
