import { alphasCumprodFor, ddpmAddNoiseInto, discreteTimesteps } from './schedule-math';
import type { Scheduler, SchedulerConfig } from './types';

/** DDIM (Song et al. 2020), deterministic (η = 0), as diffusers' DDIMScheduler. */
export class DdimScheduler implements Scheduler {
  readonly name = 'ddim' as const;
  readonly timesteps: Float64Array;
  readonly initNoiseSigma = 1;
  private readonly alphasCumprod: Float64Array;
  private readonly finalAlphaCumprod: number;
  private readonly stepRatio: number;

  constructor(private readonly config: SchedulerConfig, steps: number) {
    this.alphasCumprod = alphasCumprodFor(config);
    this.finalAlphaCumprod = config.setAlphaToOne ? 1 : this.alphasCumprod[0];
    this.timesteps = Float64Array.from(discreteTimesteps(config, config.timestepSpacing ?? 'leading', steps));
    this.stepRatio = Math.floor(config.numTrainTimesteps / steps);
  }

  scaleModelInput(sample: Float32Array, _index: number, out: Float32Array): void {
    if (out !== sample) out.set(sample);
  }

  step(index: number, modelOutput: Float32Array, sample: Float32Array, out: Float32Array): void {
    const t = this.timesteps[index];
    const prevT = t - this.stepRatio;
    const a = this.alphasCumprod[t];
    const aPrev = prevT >= 0 ? this.alphasCumprod[prevT] : this.finalAlphaCumprod;
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    const saPrev = Math.sqrt(aPrev);
    const dirCoeff = Math.sqrt(1 - aPrev);
    const v = this.config.predictionType === 'v_prediction';
    for (let i = 0; i < out.length; i++) {
      const x = sample[i];
      const m = modelOutput[i];
      const x0 = v ? sa * x - sb * m : (x - sb * m) / sa;
      const eps = v ? sa * m + sb * x : m;
      out[i] = saPrev * x0 + dirCoeff * eps;
    }
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number, out: Float32Array): void {
    ddpmAddNoiseInto(this.alphasCumprod, original, noise, this.timesteps[index], out);
  }
}
