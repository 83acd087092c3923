/** Common interface of the denoising schedulers (each in its own module, math as in diffusers 0.19). */

export type SchedulerName = 'ddim' | 'pndm' | 'euler' | 'euler-a' | 'dpmpp-2m' | 'lms';
export const SCHEDULER_NAMES: readonly SchedulerName[] = ['ddim', 'pndm', 'euler', 'euler-a', 'dpmpp-2m', 'lms'];

export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';
export type PredictionType = 'epsilon' | 'v_prediction';

/** The scheduler_config.json keys the schedulers use, camel-cased. */
export interface SchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  trainedBetas: number[] | null;
  predictionType: PredictionType;
  /** undefined = the scheduler's own default (leading for DDIM/PNDM, linspace for the others, as in diffusers). */
  timestepSpacing?: TimestepSpacing;
  stepsOffset: number;
  setAlphaToOne: boolean;
  useKarrasSigmas: boolean;
}

/** Supplies N(0,1) noise (Euler ancestral draws some every step). */
export interface NoiseSource {
  fillNormal(out: Float32Array): void;
}

export interface Scheduler {
  readonly name: SchedulerName;
  /** The timestep of each UNet call, in order (PNDM repeats its first one). */
  readonly timesteps: Float64Array;
  /** Multiply the initial N(0,1) latents by this. */
  readonly initNoiseSigma: number;
  /** Writes the UNet input for call `index` (identity for DDIM/PNDM/DPM, ÷√(σ²+1) for the sigma schedulers). */
  scaleModelInput(sample: Float32Array, index: number, out: Float32Array): void;
  /**
   * One denoising step for call `index`: reads the guided model output and the current sample, writes the previous
   * sample to `out` (which may alias `sample`). Calls must come in order; multistep state lives in the instance.
   */
  step(index: number, modelOutput: Float32Array, sample: Float32Array, out: Float32Array, noise?: NoiseSource): void;
  /** img2img: noise `original` to the level of call `index`, written to `out`. */
  addNoise(original: Float32Array, noise: Float32Array, index: number, out: Float32Array): void;
}

export interface SchedulerOptions {
  /** Karras sigma spacing (Euler, Euler ancestral, LMS, DPM++ 2M). */
  karras?: boolean;
  /** Overrides of the config (e.g. prediction type for a v-prediction SD 2.x model). */
  predictionType?: PredictionType;
  timestepSpacing?: TimestepSpacing;
}
